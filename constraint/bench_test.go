package constraint_test

import (
	"testing"

	"github.com/upfactory/upfactory/constraint"
)

func BenchmarkParseGemspec(b *testing.B) {
	data := mustRead(b, "activesupport.gemspec")
	for b.Loop() {
		if _, _, err := constraint.ParseGemspec("activesupport.gemspec", data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseGemfile(b *testing.B) {
	data := mustRead(b, "Gemfile")
	for b.Loop() {
		if _, _, err := constraint.ParseGemfile("Gemfile", data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheckComposer(b *testing.B) {
	d := constraint.Declared{Constraint: "^0.9.3 || ^0.10.2 || ^0.11", Syntax: constraint.SyntaxComposer}
	for b.Loop() {
		constraint.Check(d, "0.11.5")
	}
}
