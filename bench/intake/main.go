// Command intake is the intake benchmark behind bench/intake.sh: it
// generates fleet-sized CycloneDX fixtures from the shared corpus, times
// `upfactory scan`, osv-scanner (offline) and `upfactory intake run` on
// them, and compares upfactory's findings with osv-scanner's, classifying
// every disagreement against the OSV record that decides it. See
// bench/README.md.
//
//	intake gen     -out DIR [-services 1000] [-components 200] [-seed 1] [-zip ZIP] [-sboms DIR]
//	intake run     -upfactory BIN [-osv-scanner BIN] -fixtures DIR [-rounds 3] [-zip ZIP]
//	intake compare -upfactory BIN -osv-scanner BIN [-fixtures DIR] [-sboms DIR] [-zip ZIP] [-out FILE]
//
// No figure is asserted: the program prints what it measured.
package main

import (
	"fmt"
	"os"
)

// Defaults: the shared corpus next to the repository.
const (
	defaultZip   = "/work/shared/corpus/osv/go-vulndb-all.zip"
	defaultSBOMs = "/work/shared/corpus/sbom"
)

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "gen":
		err = genMain(os.Args[2:])
	case "run":
		err = runMain(os.Args[2:])
	case "compare":
		err = compareMain(os.Args[2:])
	case "-h", "--help", "help":
		usage()
		return
	default:
		usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "intake:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprint(os.Stderr, `usage:
  intake gen     -out DIR [-services 1000] [-components 200] [-seed 1] [-zip ZIP] [-sboms DIR]
  intake run     -upfactory BIN [-osv-scanner BIN] -fixtures DIR [-rounds 3] [-zip ZIP]
  intake compare -upfactory BIN -osv-scanner BIN [-fixtures DIR] [-sboms DIR] [-zip ZIP] [-out FILE]
`)
}
