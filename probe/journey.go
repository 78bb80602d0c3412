package probe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"time"
)

// DefaultJourneyTimeout bounds a journey that sets no timeout.
const DefaultJourneyTimeout = 30 * time.Second

// maxBody caps how much of a response a step reads.
const maxBody = 16 << 20

// redacted are request headers whose values never appear in results.
var redacted = []string{"Authorization", "Proxy-Authorization", "Cookie"}

// RunJourney walks j's steps against baseURL with client (its transport
// and timeout; each journey gets its own cookie jar). The first step that
// fails or errs ends the journey; a timeout or a transport error is an
// error, a wrong answer a failure.
func RunJourney(ctx context.Context, client *http.Client, baseURL string, j Journey) Result {
	res := Result{Kind: KindJourney, Name: j.Name, Tags: j.Tags, Started: time.Now(), Outcome: Pass}
	defer func() { res.Duration = time.Since(res.Started) }()
	timeout := j.Timeout.D()
	if timeout <= 0 {
		timeout = DefaultJourneyTimeout
	}
	jctx, cancel := context.WithTimeoutCause(ctx, timeout, errTimeout)
	defer cancel()

	c := &http.Client{}
	if client != nil {
		*c = *client
	}
	jar, _ := cookiejar.New(nil) // never fails without options
	c.Jar = jar

	vars := map[string]string{}
	base := strings.TrimRight(baseURL, "/")
	for i, st := range j.Steps {
		sr, body := runStep(jctx, c, base, st, vars)
		if sr.Name == "" {
			sr.Name = fmt.Sprintf("step %d", i+1)
		}
		if sr.Outcome == Error && context.Cause(jctx) == errTimeout {
			sr.Reason = fmt.Sprintf("journey timed out after %s", timeout)
		}
		res.Steps = append(res.Steps, sr)
		if sr.Outcome != Pass {
			res.Outcome = sr.Outcome
			res.Reason = fmt.Sprintf("step %q: %s", sr.Name, sr.Reason)
			res.Output = truncateTail(string(body), MaxOutput)
			for _, rest := range j.Steps[i+1:] {
				res.Steps = append(res.Steps, StepResult{Name: rest.Name, Method: method(rest), Path: rest.Path, Outcome: Skipped, Reason: "an earlier step did not pass"})
			}
			break
		}
	}
	return res
}

func method(st Step) string {
	if st.Method == "" {
		return http.MethodGet
	}
	return strings.ToUpper(st.Method)
}

// runStep sends one step and checks its answer; it returns the body for
// the result's output when the step does not pass.
func runStep(ctx context.Context, c *http.Client, base string, st Step, vars map[string]string) (StepResult, []byte) {
	sr := StepResult{Name: st.Name, Method: method(st), Path: st.Path}
	fail := func(o Outcome, format string, args ...any) StepResult {
		sr.Outcome, sr.Reason = o, fmt.Sprintf(format, args...)
		return sr
	}
	path, err := expand(st.Path, vars)
	if err != nil {
		return fail(Error, "path: %v", err), nil
	}
	sr.Path = path
	body, err := expand(st.Body, vars)
	if err != nil {
		return fail(Error, "body: %v", err), nil
	}
	req, err := http.NewRequestWithContext(ctx, sr.Method, base+path, strings.NewReader(body))
	if err != nil {
		return fail(Error, "building request: %v", err), nil
	}
	if body == "" {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	for _, k := range slices.Sorted(maps.Keys(st.Headers)) {
		v, err := expand(st.Headers[k], vars)
		if err != nil {
			return fail(Error, "header %s: %v", k, err), nil
		}
		req.Header.Set(k, v)
		if strings.EqualFold(k, "Host") {
			req.Host = v
		}
		if sr.Headers == nil {
			sr.Headers = map[string]string{}
		}
		if slices.ContainsFunc(redacted, func(r string) bool { return strings.EqualFold(r, k) }) {
			v = "[redacted]"
		}
		sr.Headers[k] = v
	}
	if t := strings.TrimSpace(body); t != "" && (t[0] == '{' || t[0] == '[') && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}

	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		sr.Latency = time.Since(start)
		return fail(Error, "%s %s: %v", sr.Method, path, unwrapURLError(err)), nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	sr.Latency = time.Since(start)
	sr.Status = resp.StatusCode
	if err != nil {
		return fail(Error, "reading response: %v", unwrapURLError(err)), b
	}

	e := st.Expect
	switch {
	case e.Status != 0 && resp.StatusCode != e.Status:
		return fail(Fail, "status %d, want %d", resp.StatusCode, e.Status), b
	case e.Status == 0 && resp.StatusCode >= 400:
		return fail(Fail, "status %d, want below 400", resp.StatusCode), b
	}
	if e.MaxLatency > 0 && sr.Latency > e.MaxLatency.D() {
		return fail(Fail, "took %s, more than max_latency %s", sr.Latency.Round(time.Millisecond), e.MaxLatency), b
	}
	if e.BodyContains != "" && !bytes.Contains(b, []byte(e.BodyContains)) {
		return fail(Fail, "body does not contain %q", e.BodyContains), b
	}

	needJSON := len(e.JSON) > 0
	for _, p := range st.Extract {
		if !strings.HasPrefix(p, "header:") {
			needJSON = true
		}
	}
	var doc any
	if needJSON {
		if doc, err = decodeJSON(b); err != nil {
			return fail(Fail, "response is not JSON: %v", err), b
		}
	}
	for _, p := range slices.Sorted(maps.Keys(e.JSON)) {
		want := e.JSON[p]
		segs, err := parsePath(p)
		if err != nil {
			return fail(Error, "expect: %v", err), b
		}
		v, ok := lookup(doc, segs)
		if !ok {
			return fail(Fail, "json %s is missing", p), b
		}
		if got := valueString(v); want != "*" && got != want {
			return fail(Fail, "json %s is %q, want %q", p, got, want), b
		}
	}
	for _, name := range slices.Sorted(maps.Keys(st.Extract)) {
		p := st.Extract[name]
		if h, ok := strings.CutPrefix(p, "header:"); ok {
			v := resp.Header.Get(strings.TrimSpace(h))
			if v == "" {
				return fail(Fail, "extract %s: no response header %s", name, h), b
			}
			vars[name] = v
		} else {
			segs, err := parsePath(p)
			if err != nil {
				return fail(Error, "extract %s: %v", name, err), b
			}
			v, ok := lookup(doc, segs)
			if !ok {
				return fail(Fail, "extract %s: json %s is missing", name, p), b
			}
			vars[name] = valueString(v)
		}
		sr.Extracted = append(sr.Extracted, name)
	}
	sr.Outcome = Pass
	return sr, nil
}

// unwrapURLError drops url.Error's repetition of the method and URL,
// which the reason already gives.
func unwrapURLError(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err
	}
	return err
}
