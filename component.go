package upfactory

// Layers of the patch order OS → runtime → dependencies → app.
const (
	LayerOS         = "os"
	LayerRuntime    = "runtime"
	LayerDependency = "dependency"
	LayerApp        = "app"
)

// Component is one versioned thing a service runs: a library, a runtime,
// an OS package, a WordPress plugin.
type Component struct {
	// Name is the ecosystem's own name: github.com/gin-gonic/gin, lodash,
	// symfony/console, openssl, akismet.
	Name string `json:"name" yaml:"name"`
	// Ecosystem is the OSV ecosystem name (Go, npm, PyPI, RubyGems, Maven,
	// Packagist, crates.io, NuGet, Debian:12…), or WordPress:plugin,
	// WordPress:theme, WordPress:core for WordPress.
	Ecosystem string `json:"ecosystem" yaml:"ecosystem"`
	Version   string `json:"version" yaml:"version"`
	// PURL is the package URL, when the source gave or implies one.
	PURL string `json:"purl,omitempty" yaml:"purl"`
	// Layer is os, runtime, dependency or app.
	Layer string `json:"layer,omitempty" yaml:"layer"`
	// Direct is true for a dependency the service declares itself.
	Direct bool `json:"direct,omitempty" yaml:"direct"`
	// Source says where it was read: file and line, or file and JSON path.
	Source string `json:"source,omitempty" yaml:"-"`
}
