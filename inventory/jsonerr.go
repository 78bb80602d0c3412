package inventory

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// jsonError says where a JSON file stops being JSON, by line and column as
// an editor shows them: a file cut short (a truncated download or copy)
// ends early; anything else is a syntax error at a place.
func jsonError(data []byte, err error) error {
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn) && syn.Offset >= int64(len(bytes.TrimRight(data, " \t\r\n"))):
		line, col := lineCol(data, len(data))
		return fmt.Errorf("the JSON ends early, at line %d, column %d (byte %d of %d): the file is cut short", line, col, len(data), len(data))
	case errors.As(err, &syn):
		line, col := lineCol(data, int(syn.Offset)-1) // Offset counts the bad byte in
		return fmt.Errorf("invalid JSON at line %d, column %d: %v", line, col, err)
	}
	return err
}

// lineCol is the 1-based line and column of byte offset off in data.
func lineCol(data []byte, off int) (line, col int) {
	off = min(max(off, 0), len(data))
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = off - bytes.LastIndexByte(before, '\n')
	return line, col
}
