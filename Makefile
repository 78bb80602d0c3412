.PHONY: build test demo bench-router

build:
	go build -o upfactory ./cmd/upfactory

test:
	./scripts/test.sh

demo:
	go run ./cmd/upfactory demo

bench-router:
	./bench/router.sh
