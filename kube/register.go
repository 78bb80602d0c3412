package kube

import (
	"context"
	"path/filepath"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/internal/argtmpl"
	"github.com/upfactory/upfactory/provider"
)

func init() {
	provider.RegisterTarget(provider.Target{Type: "kubernetes", Validate: validateTarget,
		New: func(svc *upfactory.Service, env provider.TargetEnv) (upfactory.Target, error) {
			cfg, err := RestConfig(svc)
			if err != nil {
				return nil, err
			}
			return NewTarget(svc, cfg)
		}})
	provider.RegisterRouter(provider.Router{Type: "gateway", Validate: validateGateway,
		New: func(_ context.Context, svc *upfactory.Service, env provider.RouterEnv) (upfactory.Router, func(), error) {
			cfg, err := RestConfig(svc)
			if err != nil {
				return nil, nil, err
			}
			g, err := NewGateway(svc, cfg)
			return g, func() {}, err
		}})
}

func validateTarget(svc *upfactory.Service, p provider.Problems) {
	t := svc.Target
	if t.Image == "" {
		p.Report("image", "required for a kubernetes target: the image of a version, such as registry.example.com/shop:{{.Version}}")
	} else if msg := argtmpl.Fields(t.Image, "Version", "Service"); msg != "" {
		p.Report("image", "%s", msg)
	}
	if t.Namespace == "" || dnsLabel(t.Namespace) != t.Namespace {
		p.Report("namespace", "required: the Kubernetes namespace of the service's Deployments, in lowercase letters, digits and dashes")
	}
	if t.Port < 1 || t.Port > 65535 {
		p.Report("port", "required: the port the container listens on, 1 to 65535")
	}
	if len(t.Command) > 0 {
		p.Report("command", "a kubernetes target runs the image's own command")
	}
	if t.Kubeconfig != "" && !filepath.IsAbs(t.Kubeconfig) {
		p.Report("kubeconfig", "want an absolute path, got %q", t.Kubeconfig)
	}
}

func validateGateway(svc *upfactory.Service, p provider.Problems) {
	if svc.Target.Type != "kubernetes" {
		p.Report("type", "a gateway router sends traffic to the Services of a kubernetes target; this service's target is %q", svc.Target.Type)
	}
	if svc.Router.Route == "" || dnsLabel(svc.Router.Route) != svc.Router.Route {
		p.Report("route", "required: the name of the HTTPRoute in the target's namespace whose backend weights upfactory sets")
	}
}
