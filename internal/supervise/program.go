package supervise

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
)

// ProgramPath is where name, a command's argv[0], points for an instance
// started in dir: name itself when absolute, relative to dir when it has a
// slash, looked up in PATH otherwise. It does not check that the file
// exists, except that a PATH lookup that finds nothing is an error.
func ProgramPath(dir, name string) (string, error) {
	switch {
	case filepath.IsAbs(name):
		return filepath.Clean(name), nil
	case strings.ContainsRune(name, '/'):
		return filepath.Join(dir, name), nil
	}
	p, err := osexec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%q is not in PATH", name)
	}
	return filepath.Abs(p)
}

// Program returns the absolute path of the program name names for an
// instance started in dir, or an error saying why it cannot be run: not in
// PATH, missing, a directory, not executable.
func Program(dir, name string) (string, error) {
	p, err := ProgramPath(dir, name)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("%s does not exist", p)
	case err != nil:
		return "", err
	case fi.IsDir():
		return "", fmt.Errorf("%s is a directory", p)
	case fi.Mode()&0o111 == 0:
		return "", fmt.Errorf("%s is not executable", p)
	}
	return p, nil
}
