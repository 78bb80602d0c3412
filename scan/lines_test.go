package scan

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPointerLines(t *testing.T) {
	doc := `{
  "components": [
    {"name": "a"},
    {
      "name": "b"
    }
  ],
  "packages": {
    "node_modules/x": {"version": "1"},
    "a~b": 2
  }
}`
	ptrs := map[string]bool{"/components/0": true, "/components/1": true, "/components/1/name": true,
		"/packages/node_modules~1x": true, "/packages/a~0b": true, "/missing": true, "": true}
	want := map[string]int{"/components/0": 3, "/components/1": 4, "/components/1/name": 5,
		"/packages/node_modules~1x": 9, "/packages/a~0b": 10, "": 1}
	if diff := cmp.Diff(want, pointerLines([]byte(doc), ptrs)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := pointerLines([]byte(`{"a": [1, `), map[string]bool{"/a/0": true}); got["/a/0"] != 1 {
		t.Errorf("truncated document: %v, want what was found before the end", got)
	}
}

func FuzzPointerLines(f *testing.F) {
	f.Add([]byte(`{"components":[{"name":"a"}]}`), "/components/0")
	f.Add([]byte(`[1,[2,{"x~/":3}]]`), "/1/1/x~0~1")
	f.Fuzz(func(t *testing.T, data []byte, ptr string) {
		for p, line := range pointerLines(data, map[string]bool{ptr: true}) {
			if p != ptr || line < 1 {
				t.Fatalf("line %d for %q", line, p)
			}
		}
	})
}

func TestSourceParts(t *testing.T) {
	for src, want := range map[string]struct {
		line int
		ptr  string
	}{
		"go.mod:12":                           {12, ""},
		"requirements.txt:3 (dev)":            {3, ""},
		"bom.json#/components/4":              {0, "/components/4"},
		"package-lock.json#/packages/x (dev)": {0, "/packages/x"},
		"C:/x/bom.json":                       {0, ""},
		"declared component x":                {0, ""},
	} {
		if l, p := sourceLine(src), sourcePointer(src); l != want.line || p != want.ptr {
			t.Errorf("%q: line %d, pointer %q; want %d, %q", src, l, p, want.line, want.ptr)
		}
	}
}
