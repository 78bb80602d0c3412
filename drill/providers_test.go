package drill_test

// The drills run the service's own types of target and router.
import (
	_ "github.com/upfactory/upfactory/exec"
	_ "github.com/upfactory/upfactory/proxy"
	_ "github.com/upfactory/upfactory/static"
)
