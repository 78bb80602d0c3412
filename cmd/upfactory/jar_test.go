package main

import "net/http/cookiejar"

func newJar() *cookiejar.Jar {
	j, err := cookiejar.New(nil)
	if err != nil {
		panic(err)
	}
	return j
}
