package inventory

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/package-url/packageurl-go"
	"github.com/upfactory/upfactory"
)

// purlEcosystems maps purl types to OSV ecosystem names.
var purlEcosystems = map[string]string{
	"golang":   "Go",
	"npm":      "npm",
	"pypi":     "PyPI",
	"gem":      "RubyGems",
	"maven":    "Maven",
	"composer": "Packagist",
	"cargo":    "crates.io",
	"nuget":    "NuGet",
	"hex":      "Hex",
	"pub":      "Pub",
	"deb":      "Debian",
	"apk":      "Alpine",
}

// osPURLTypes are package types installed by an operating system's
// package manager: their components belong to the os layer.
var osPURLTypes = map[string]bool{"deb": true, "apk": true, "rpm": true, "alpm": true}

var debianReleases = map[string]string{
	"jessie": "8", "stretch": "9", "buster": "10", "bullseye": "11",
	"bookworm": "12", "trixie": "13", "forky": "14",
}

var leadingVersion = regexp.MustCompile(`^(\d+)(?:\.(\d+))?`)

// fromPURL reads the ecosystem-native name, the OSV ecosystem and the
// version of a package URL.
func fromPURL(s string) (name, ecosystem, version string, os bool, err error) {
	p, err := packageurl.FromString(s)
	if err != nil {
		return "", "", "", false, err
	}
	name = p.Name
	switch p.Type {
	case "golang":
		// packageurl-go lowercases golang names, but module paths are
		// case-sensitive (github.com/ProtonMail/…), so take them as written.
		name = rawPURLPath(s, p.Namespace+"/"+p.Name)
	case "maven":
		if p.Namespace != "" {
			name = p.Namespace + ":" + p.Name
		}
	case "deb", "apk", "rpm", "alpm":
		// The namespace is the vendor (debian, ubuntu, alpine), not part of the name.
	default:
		if p.Namespace != "" {
			name = p.Namespace + "/" + p.Name
		}
	}
	ecosystem = purlEcosystems[p.Type]
	if ecosystem == "" {
		ecosystem = p.Type
	}
	distro := p.Qualifiers.Map()["distro"]
	switch p.Type {
	case "deb":
		ecosystem = debianEcosystem(strings.ToLower(p.Namespace), strings.ToLower(distro))
	case "apk":
		if m := leadingVersion.FindStringSubmatch(strings.TrimPrefix(strings.ToLower(distro), "alpine-")); m != nil && m[2] != "" {
			ecosystem = "Alpine:v" + m[1] + "." + m[2]
		}
	}
	return name, ecosystem, p.Version, osPURLTypes[p.Type], nil
}

// rawPURLPath returns the namespace/name part of purl as written
// (percent-decoded, case kept), or fallback when it cannot be isolated.
func rawPURLPath(purl, fallback string) string {
	rest, ok := strings.CutPrefix(purl, "pkg:")
	if !ok {
		return fallback
	}
	rest = strings.TrimLeft(rest, "/")
	if i := strings.IndexAny(rest, "@?#"); i >= 0 {
		rest = rest[:i]
	}
	_, rest, ok = strings.Cut(rest, "/")
	if !ok {
		return fallback
	}
	decoded, err := url.PathUnescape(strings.Trim(rest, "/"))
	if err != nil || !strings.EqualFold(decoded, strings.TrimPrefix(fallback, "/")) {
		return fallback
	}
	return decoded
}

// debianEcosystem names the OSV ecosystem of a deb package from the purl
// namespace and distro qualifier ("debian-12.4", "bookworm", "ubuntu-22.04").
func debianEcosystem(vendor, distro string) string {
	if vendor == "ubuntu" || strings.HasPrefix(distro, "ubuntu-") {
		if m := leadingVersion.FindStringSubmatch(strings.TrimPrefix(distro, "ubuntu-")); m != nil && m[2] != "" {
			return "Ubuntu:" + m[1] + "." + m[2]
		}
		return "Ubuntu"
	}
	d := strings.TrimPrefix(distro, "debian-")
	if r, ok := debianReleases[d]; ok {
		return "Debian:" + r
	}
	if m := leadingVersion.FindStringSubmatch(d); m != nil {
		return "Debian:" + m[1]
	}
	return "Debian"
}

var ecosystemPURLTypes = map[string]string{}

func init() {
	for t, e := range purlEcosystems {
		ecosystemPURLTypes[e] = t
	}
}

// purlFor builds the package URL of a component named the ecosystem's own
// way, or "" for ecosystems without a purl type.
func purlFor(ecosystem, name, version string) string {
	eco, _, _ := strings.Cut(ecosystem, ":")
	t, ok := ecosystemPURLTypes[eco]
	if !ok || name == "" {
		return ""
	}
	namespace := ""
	switch t {
	case "maven":
		namespace, name, _ = strings.Cut(name, ":")
		if name == "" {
			return ""
		}
	case "golang", "npm", "composer":
		if i := strings.LastIndex(name, "/"); i >= 0 {
			namespace, name = name[:i], name[i+1:]
		}
	case "deb", "apk":
		return ""
	}
	return packageurl.NewPackageURL(t, namespace, name, version, nil, "").ToString()
}

// componentFromPURL fills name, ecosystem, version, PURL and (for OS
// packages) the layer from a package URL. A version given beside the purl
// wins over none in the purl.
func componentFromPURL(purl, fallbackVersion string) (upfactory.Component, error) {
	name, eco, version, os, err := fromPURL(purl)
	if err != nil {
		return upfactory.Component{}, err
	}
	if version == "" {
		version = fallbackVersion
	}
	c := upfactory.Component{Name: name, Ecosystem: eco, Version: version, PURL: purl, Layer: upfactory.LayerDependency}
	if os {
		c.Layer = upfactory.LayerOS
	}
	if eco == "Go" && (name == "std" || name == "stdlib") {
		// cyclonedx-gomod writes the standard library as pkg:golang/std;
		// the Go vulnerability database calls it stdlib. It is the runtime.
		c.Name, c.Layer = "stdlib", upfactory.LayerRuntime
	}
	return c, nil
}
