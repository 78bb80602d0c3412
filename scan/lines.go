package scan

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// pointerLines finds the 1-based line where the value at each JSON pointer
// (RFC 6901) of ptrs starts in data, so that a finding in an SBOM or
// package-lock.json points at its component's line. Pointers it cannot
// find, or a document that does not parse to its end, leave lines out.
func pointerLines(data []byte, ptrs map[string]bool) map[string]int {
	lines := map[string]int{}
	if len(ptrs) == 0 {
		return lines
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var walk func(ptr string) bool
	walk = func(ptr string) bool {
		// InputOffset is the end of the previous token: the value starts
		// after whitespace and a separator.
		start := int(dec.InputOffset())
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		if ptrs[ptr] {
			for start < len(data) && strings.IndexByte(" \t\r\n:,", data[start]) >= 0 {
				start++
			}
			lines[ptr] = 1 + bytes.Count(data[:start], []byte{'\n'})
		}
		d, ok := tok.(json.Delim)
		if !ok {
			return true
		}
		switch d {
		case '{':
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return false
				}
				key, _ := kt.(string)
				if !walk(ptr + "/" + escapePointer(key)) {
					return false
				}
			}
		case '[':
			for i := 0; dec.More(); i++ {
				if !walk(ptr + "/" + strconv.Itoa(i)) {
					return false
				}
			}
		}
		_, err = dec.Token() // the closing delimiter
		return err == nil
	}
	walk("")
	return lines
}

func escapePointer(key string) string {
	return strings.ReplaceAll(strings.ReplaceAll(key, "~", "~0"), "/", "~1")
}

// sourcePointer takes the JSON pointer out of a Source "file#/a/0" (" (dev)"
// may follow); "" when there is none.
func sourcePointer(src string) string {
	src = strings.TrimSuffix(src, " (dev)")
	i := strings.LastIndex(src, "#/")
	if i < 0 {
		return ""
	}
	return src[i+1:]
}
