package kube

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/upfactory/upfactory"
)

var _ upfactory.Target = (*Target)(nil)

// Target runs each version of a service as a Deployment of
// target.replicas pods with a Service of the same name in front of it. An
// instance is one replica of a Deployment: "NAME#i", ready while i is
// below the Deployment's ready replicas. Stopping one scales the
// Deployment down by one, and the last takes the Deployment and its
// Service away. Nothing lives in upfactory but in the cluster, so after a
// restart the instances are found again by their labels.
type Target struct {
	svc   *upfactory.Service
	c     client.Client
	image *template.Template
}

// NewTarget is svc's target on the cluster cfg reaches.
func NewTarget(svc *upfactory.Service, cfg *rest.Config) (*Target, error) {
	c, err := newClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("target of %s: %w", svc.Name, err)
	}
	tmpl, err := template.New("image").Option("missingkey=error").Parse(svc.Target.Image)
	if err != nil {
		return nil, upfactory.Errorf(upfactory.EINVALID, "target of %s: image %q: %v", svc.Name, svc.Target.Image, err)
	}
	return &Target{svc: svc, c: c, image: tmpl}, nil
}

func (t *Target) ns() string { return t.svc.Target.Namespace }

// Start adds n replicas to version's Deployment, making the Deployment and
// its Service when the version has none.
func (t *Target) Start(ctx context.Context, version string, n int) ([]upfactory.Instance, error) {
	var b strings.Builder
	if err := t.image.Execute(&b, struct{ Version, Service string }{version, t.svc.Name}); err != nil {
		return nil, upfactory.Errorf(upfactory.EINVALID, "image of %s %s: %v", t.svc.Name, version, err)
	}
	name := objectName(t.svc.Name, version)
	var from int32
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var d appsv1.Deployment
		err := t.c.Get(ctx, client.ObjectKey{Namespace: t.ns(), Name: name}, &d)
		switch {
		case apierrors.IsNotFound(err):
			from = 0
			return t.c.Create(ctx, t.deployment(name, version, b.String(), int32(n)))
		case err != nil:
			return err
		}
		from = replicas(&d)
		d.Spec.Replicas = ptr(from + int32(n))
		return t.c.Update(ctx, &d)
	})
	if err != nil {
		return nil, fmt.Errorf("starting %d of %s %s: %w", n, t.svc.Name, version, err)
	}
	if err := t.ensureService(ctx, name, version); err != nil {
		return nil, err
	}
	out := make([]upfactory.Instance, 0, n)
	for i := range n {
		out = append(out, t.instance(name, version, int(from)+i, upfactory.InstanceStarting, time.Now(), ""))
	}
	return out, nil
}

func (t *Target) labels(version string) map[string]string {
	return map[string]string{labelService: dnsLabel(t.svc.Name), labelManagedBy: managedBy, labelVersion: labelValue(version)}
}

func (t *Target) deployment(name, version, image string, n int32) *appsv1.Deployment {
	labels := t.labels(version)
	rd := t.svc.Target.Readiness
	probe := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: rd.Path, Port: intstr.FromInt(t.svc.Target.Port)}},
		PeriodSeconds: max(1, int32(rd.Interval.D().Seconds()))}
	grace := int64(max(1, t.svc.Target.StopTimeout.D().Seconds()))
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: t.ns(), Labels: labels, Annotations: map[string]string{annotationVersion: version}},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(n),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			// The readiness deadline: a Deployment that makes no progress
			// for this long is failed, and so are its instances.
			ProgressDeadlineSeconds: ptr(max(int32(1), int32(rd.Timeout.D().Seconds()))),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: &grace,
					Containers: []corev1.Container{{
						Name: "app", Image: image,
						Ports:          []corev1.ContainerPort{{ContainerPort: int32(t.svc.Target.Port)}},
						ReadinessProbe: probe,
						Env:            []corev1.EnvVar{{Name: "UPFACTORY_VERSION", Value: version}, {Name: "UPFACTORY_SERVICE", Value: t.svc.Name}},
					}},
				},
			},
		},
	}
}

// ensureService makes version's Service when it is missing.
func (t *Target) ensureService(ctx context.Context, name, version string) error {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: t.ns(), Labels: t.labels(version), Annotations: map[string]string{annotationVersion: version}},
		Spec: corev1.ServiceSpec{
			Selector: t.labels(version),
			Ports:    []corev1.ServicePort{{Name: "http", Port: int32(t.svc.Target.Port), TargetPort: intstr.FromInt(t.svc.Target.Port)}},
		},
	}
	if err := t.c.Create(ctx, s); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("service of %s %s: %w", t.svc.Name, version, err)
	}
	return nil
}

// Stop scales the Deployment of instance id down by one; the last
// replica takes the Deployment and its Service with it.
func (t *Target) Stop(ctx context.Context, id string) error {
	name, _, ok := strings.Cut(id, "#")
	if !ok {
		return upfactory.Errorf(upfactory.ENOTFOUND, "no instance %s of %s", id, t.svc.Name)
	}
	gone := false
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var d appsv1.Deployment
		if err := t.c.Get(ctx, client.ObjectKey{Namespace: t.ns(), Name: name}, &d); err != nil {
			return err
		}
		if r := replicas(&d); r > 1 {
			d.Spec.Replicas = ptr(r - 1)
			return t.c.Update(ctx, &d)
		}
		gone = true
		return t.c.Delete(ctx, &d, client.Preconditions{ResourceVersion: &d.ResourceVersion})
	})
	if apierrors.IsNotFound(err) {
		return upfactory.Errorf(upfactory.ENOTFOUND, "no instance %s of %s", id, t.svc.Name)
	}
	if err != nil {
		return fmt.Errorf("stopping %s: %w", id, err)
	}
	if gone {
		s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: t.ns()}}
		if err := t.c.Delete(ctx, s); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("removing service %s: %w", name, err)
		}
	}
	return nil
}

// Adopt has nothing to take over: the instances are the cluster's, found
// again by their labels.
func (t *Target) Adopt(context.Context, []upfactory.Instance) error { return nil }

// Instances lists one instance per replica of the service's Deployments.
func (t *Target) Instances(ctx context.Context) ([]upfactory.Instance, error) {
	var list appsv1.DeploymentList
	if err := t.c.List(ctx, &list, client.InNamespace(t.ns()), client.MatchingLabels{labelService: dnsLabel(t.svc.Name), labelManagedBy: managedBy}); err != nil {
		return nil, fmt.Errorf("listing the deployments of %s: %w", t.svc.Name, err)
	}
	slices.SortFunc(list.Items, func(a, b appsv1.Deployment) int { return strings.Compare(a.Name, b.Name) })
	var out []upfactory.Instance
	for i := range list.Items {
		d := &list.Items[i]
		version := d.Annotations[annotationVersion]
		ready := int(d.Status.ReadyReplicas)
		failed := ""
		for _, c := range d.Status.Conditions {
			if c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse {
				failed = fmt.Sprintf("deployment %s: %s: %s", d.Name, c.Reason, c.Message)
			}
		}
		for k := range int(replicas(d)) {
			state, reason := upfactory.InstanceReady, ""
			switch {
			case k < ready:
			case failed != "":
				state, reason = upfactory.InstanceFailed, failed
			default:
				state = upfactory.InstanceStarting
			}
			out = append(out, t.instance(d.Name, version, k, state, d.CreationTimestamp.Time, reason))
		}
	}
	return out, nil
}

func (t *Target) instance(name, version string, k int, state upfactory.InstanceState, started time.Time, reason string) upfactory.Instance {
	return upfactory.Instance{ID: name + "#" + strconv.Itoa(k), Service: t.svc.Name, Version: version,
		Addr: serviceAddr(t.svc, version), State: state, StartedAt: started, Reason: reason}
}

// Close stops nothing unless stopAll, which removes every Deployment and
// Service of the service.
func (t *Target) Close(ctx context.Context, stopAll bool) error {
	if !stopAll {
		return nil
	}
	sel := []client.DeleteAllOfOption{client.InNamespace(t.ns()), client.MatchingLabels{labelService: dnsLabel(t.svc.Name), labelManagedBy: managedBy}}
	if err := t.c.DeleteAllOf(ctx, &appsv1.Deployment{}, sel...); err != nil {
		return fmt.Errorf("removing the deployments of %s: %w", t.svc.Name, err)
	}
	var svcs corev1.ServiceList
	if err := t.c.List(ctx, &svcs, client.InNamespace(t.ns()), client.MatchingLabels{labelService: dnsLabel(t.svc.Name), labelManagedBy: managedBy}); err != nil {
		return err
	}
	for i := range svcs.Items {
		if err := t.c.Delete(ctx, &svcs.Items[i]); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	return nil
}

func replicas(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

func ptr[T any](v T) *T { return &v }
