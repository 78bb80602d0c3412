module example.com/shop

go 1.22

require (
	example.com/lib/v2 v2.1.0
	golang.org/x/net v0.21.0
	gopkg.in/yaml.v3 v3.0.1
	github.com/old/thing v2.0.0+incompatible // indirect
)
