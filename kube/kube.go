// Package kube delivers services on Kubernetes: a target that runs each
// version as a Deployment with a Service in front of it (instances ready
// as the Deployment's status says), and a router that sends each
// version its share of the traffic by the backend weights of a Gateway
// API HTTPRoute. It is a package of its own, and the binary offers it only
// when built with -tags kubernetes, so the core binary does not carry
// client-go.
package kube

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/config"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/upfactory/upfactory"
)

// Labels upfactory puts on what it makes.
const (
	labelService   = "app.kubernetes.io/name"
	labelManagedBy = "app.kubernetes.io/managed-by"
	labelVersion   = "upfactory.dev/version"
	managedBy      = "upfactory"
	// annotationVersion keeps the version as written; the label value is
	// the version made fit for a label.
	annotationVersion = "upfactory.dev/version"
)

// scheme holds the kinds this package reads and writes.
var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{appsv1.AddToScheme, corev1.AddToScheme, gatewayv1.Install} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}()

// RestConfig is how to reach svc's cluster: its kubeconfig file, or else
// KUBECONFIG, ~/.kube/config or the pod's service account.
func RestConfig(svc *upfactory.Service) (*rest.Config, error) {
	if p := svc.Target.Kubeconfig; p != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", p)
		if err != nil {
			return nil, fmt.Errorf("kubeconfig %s: %w", p, err)
		}
		return cfg, nil
	}
	cfg, err := config.GetConfig()
	if err != nil {
		return nil, fmt.Errorf("finding the cluster of %s (no kubeconfig set): %w", svc.Name, err)
	}
	return cfg, nil
}

func newClient(cfg *rest.Config) (client.Client, error) {
	return client.New(cfg, client.Options{Scheme: scheme})
}

// objectName names the Deployment and the Service of version: the
// service's name and the version, in the lowercase letters, digits and
// dashes a Kubernetes name takes, at most 63 of them.
func objectName(service, version string) string {
	return dnsLabel(service + "-" + version)
}

func dnsLabel(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r + ('a' - 'A')
		}
		return '-'
	}, s)
	if len(s) > 63 {
		s = s[:63]
	}
	return strings.Trim(s, "-")
}

// labelValue is version as a label value: letters, digits, '-', '_', '.'.
func labelValue(version string) string {
	v := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, version)
	if len(v) > 63 {
		v = v[:63]
	}
	return v
}

// serviceAddr is the cluster address of version's Service.
func serviceAddr(svc *upfactory.Service, version string) string {
	return fmt.Sprintf("%s.%s.svc:%d", objectName(svc.Name, version), svc.Target.Namespace, svc.Target.Port)
}
