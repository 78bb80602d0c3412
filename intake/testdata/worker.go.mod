module example.com/worker

go 1.22.0

require golang.org/x/text v0.3.5
