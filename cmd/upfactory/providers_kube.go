//go:build kubernetes

package main

// The kubernetes target and the gateway router, offered only by a binary
// built with -tags kubernetes: the core binary does not carry client-go.
import _ "github.com/upfactory/upfactory/kube"
