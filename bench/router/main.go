// Command router measures upfactory's built-in router against a direct
// connection, Caddy and HAProxy on loopback: peak throughput with wrk and
// added latency at a fixed request rate with an open-loop generator.
//
// Subcommands: backend (the 98-byte test backend), proxy (upfactory's router
// in front of one backend) and run (starts everything, measures, prints the
// tables). bench/router.sh builds it and checks the tools it needs.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/proxy"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Main(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "router:", err)
		os.Exit(1)
	}
}

const usage = `usage: router run [flags]      measure and print the tables
       router backend -addr A    serve the 98-byte test body
       router proxy -addr A -backend B [-cpuprofile F]`

// Main runs one subcommand.
func Main(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	switch args[0] {
	case "backend":
		return runBackend(ctx, args[1:], stdout)
	case "proxy":
		return runProxy(ctx, args[1:], stdout)
	case "run":
		return runBench(ctx, args[1:], stdout)
	}
	return fmt.Errorf("unknown subcommand %q\n%s", args[0], usage)
}

// body is the backend's answer: 98 bytes, as in the peers' measurements in
// FACTS.md.
var body = []byte(strings.Repeat("upfactory-bench ", 6) + "ok\n")

func runBackend(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("backend", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	length := strconv.Itoa(len(body))
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Content-Type"] = []string{"text/plain"}
			w.Header()["Content-Length"] = []string{length}
			w.Write(body)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	fmt.Fprintf(stdout, "ready %s gomaxprocs=%d\n", ln.Addr(), runtime.GOMAXPROCS(0))
	go func() { <-ctx.Done(); srv.Close() }()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func runProxy(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	backend := fs.String("backend", "", "backend host:port (one pool, weight 100)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to `file`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	p := proxy.New(proxy.Options{
		Service: "bench",
		Logger:  slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err := p.SetPools(ctx, []upfactory.Pool{{Version: "v1", Weight: 100, Addrs: []string{*backend}}}); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ready %s gomaxprocs=%d\n", ln.Addr(), runtime.GOMAXPROCS(0))
	return p.Serve(ctx, ln)
}

// target is one thing wrk and the latency generator hit.
type target struct {
	name       string
	addr       string
	pid        int    // process whose CPU time is measured; 0 for direct
	gomaxprocs string // as the process reported it, or its setting
	rps        []float64
	cpuPerReq  []time.Duration
	lat        []latencyResult
}

func runBench(ctx context.Context, args []string, stdout io.Writer) (err error) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	duration := fs.Duration("duration", 10*time.Second, "length of each wrk run and of each fixed-rate run")
	rounds := fs.Int("rounds", 3, "interleaved rounds of each measurement; medians are reported")
	conns := fs.Int("connections", 64, "wrk connections")
	threads := fs.Int("threads", 2, "wrk threads")
	gomaxprocs := fs.Int("gomaxprocs", 0, "GOMAXPROCS of the upfactory proxy process (0: Go's default, the number of CPUs)")
	caddyProcs := fs.Int("caddy-gomaxprocs", 0, "GOMAXPROCS of Caddy (0: Go's default)")
	gogc := fs.Int("gogc", 0, "GOGC of the upfactory proxy process (0: Go's default, 100)")
	rate := fs.Float64("rate", 0, "requests per second of the fixed-rate runs (0: half of Caddy's median peak)")
	skipLatency := fs.Bool("skip-latency", false, "measure throughput only")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the upfactory proxy process to `file`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *rounds < 1 || *rounds > 20 || *duration < time.Second || *duration > 10*time.Minute || *conns < 1 || *conns > 10000 {
		return errors.New("want 1–20 rounds, a duration from 1s to 10m and 1–10000 connections")
	}
	for _, bin := range []string{"wrk", "caddy", "haproxy"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("%s not found: apt-get install -y wrk caddy haproxy (or bench/router.sh --install)", bin)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "upfactory-router-bench-")
	if err != nil {
		return err
	}
	defer func() {
		// Keep the servers' logs when something went wrong.
		if err == nil {
			os.RemoveAll(dir)
		}
	}()

	var procs children
	defer procs.stopAll()

	ports, err := freePorts(4)
	if err != nil {
		return err
	}
	backendAddr := ports[0]
	if _, err := procs.start(ctx, dir, "backend", nil, self, "backend", "-addr", backendAddr); err != nil {
		return err
	}
	var proxyEnv []string
	if *gomaxprocs > 0 {
		proxyEnv = append(proxyEnv, fmt.Sprintf("GOMAXPROCS=%d", *gomaxprocs))
	}
	if *gogc > 0 {
		proxyEnv = append(proxyEnv, fmt.Sprintf("GOGC=%d", *gogc))
	}
	proxyArgs := []string{"proxy", "-addr", ports[1], "-backend", backendAddr}
	if *profile != "" {
		abs, err := filepath.Abs(*profile)
		if err != nil {
			return err
		}
		proxyArgs = append(proxyArgs, "-cpuprofile", abs)
	}
	up, err := procs.start(ctx, dir, "upfactory", proxyEnv, self, proxyArgs...)
	if err != nil {
		return err
	}

	caddyfile := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(caddyfile, fmt.Appendf(nil, `{
	admin off
	auto_https off
	log {
		level ERROR
	}
}
http://%s {
	reverse_proxy %s {
		lb_policy round_robin
	}
}
`, ports[2], backendAddr), 0o644); err != nil {
		return err
	}
	caddyEnv := []string{"HOME=" + dir, "XDG_DATA_HOME=" + dir, "XDG_CONFIG_HOME=" + dir}
	if *caddyProcs > 0 {
		caddyEnv = append(caddyEnv, fmt.Sprintf("GOMAXPROCS=%d", *caddyProcs))
	}
	cd, err := procs.start(ctx, dir, "caddy", caddyEnv, "caddy", "run", "--config", caddyfile, "--adapter", "caddyfile")
	if err != nil {
		return err
	}

	haproxyCfg := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(haproxyCfg, fmt.Appendf(nil, `global
	maxconn 4096
defaults
	mode http
	timeout connect 5s
	timeout client 30s
	timeout server 30s
	option http-keep-alive
frontend fe
	bind %s
	default_backend be
backend be
	balance roundrobin
	server s1 %s
`, ports[3], backendAddr), 0o644); err != nil {
		return err
	}
	hp, err := procs.start(ctx, dir, "haproxy", nil, "haproxy", "-db", "-f", haproxyCfg)
	if err != nil {
		return err
	}

	targets := []*target{
		{name: "direct", addr: backendAddr},
		{name: "upfactory", addr: ports[1], pid: up.Process.Pid},
		{name: "caddy", addr: ports[2], pid: cd.Process.Pid},
		{name: "haproxy", addr: ports[3], pid: hp.Process.Pid},
	}
	for _, t := range targets {
		if err := waitReady(ctx, t.addr); err != nil {
			return fmt.Errorf("%s on %s: %w (logs in %s)", t.name, t.addr, err, dir)
		}
	}
	targets[0].gomaxprocs = procs.reported("backend")
	targets[1].gomaxprocs = procs.reported("upfactory")
	targets[2].gomaxprocs = "default"
	if *caddyProcs > 0 {
		targets[2].gomaxprocs = strconv.Itoa(*caddyProcs)
	}
	targets[3].gomaxprocs = "n/a (threads: default)"

	gcPercent := "default"
	if *gogc > 0 {
		gcPercent = strconv.Itoa(*gogc)
	}
	fmt.Fprintf(stdout, "router benchmark: %d CPUs, upfactory proxy GOMAXPROCS=%s GOGC=%s, backend GOMAXPROCS=%s, no CPU pinning (no taskset)\n",
		runtime.NumCPU(), targets[1].gomaxprocs, gcPercent, targets[0].gomaxprocs)
	fmt.Fprintf(stdout, "caddy %s, haproxy %s, wrk %s\n", toolVersion("caddy", "version"), toolVersion("haproxy", "-v"), toolVersion("wrk", "-v"))

	wrkArgs := func(d time.Duration, addr string) []string {
		return []string{"-t" + strconv.Itoa(*threads), "-c" + strconv.Itoa(*conns), "-d" + strconv.Itoa(int(d.Seconds())) + "s", "http://" + addr + "/"}
	}
	// Warm up connections, caches and the Go heaps before measuring.
	for _, t := range targets {
		if _, err := runWrk(ctx, wrkArgs(2*time.Second, t.addr)); err != nil {
			return fmt.Errorf("warming up %s: %w", t.name, err)
		}
	}
	for r := range *rounds {
		for _, t := range targets {
			cpu0 := cpuTime(t.pid)
			res, err := runWrk(ctx, wrkArgs(*duration, t.addr))
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", r+1, t.name, err)
			}
			if res.errors > 0 {
				fmt.Fprintf(stdout, "warning: %s round %d: %d errors or non-2xx answers\n", t.name, r+1, res.errors)
			}
			t.rps = append(t.rps, res.rps)
			if t.pid != 0 && res.requests > 0 {
				t.cpuPerReq = append(t.cpuPerReq, (cpuTime(t.pid)-cpu0)/time.Duration(res.requests))
			}
			fmt.Fprintf(stdout, "round %d %-10s %9.0f req/s\n", r+1, t.name, res.rps)
		}
	}
	direct := median(targets[0].rps)
	upf := median(targets[1].rps)
	fmt.Fprintf(stdout, "\nthroughput: wrk -t%d -c%d -d%s, median of %d interleaved rounds\n", *threads, *conns, duration, *rounds)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\treq/s\tvs direct\tupfactory vs it\tproxy CPU/req\tGOMAXPROCS\t")
	for _, t := range targets {
		m := median(t.rps)
		cpu := "-"
		if len(t.cpuPerReq) > 0 {
			cpu = fmt.Sprintf("%.0fµs", float64(medianDur(t.cpuPerReq))/1e3)
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.2f×\t%.2f×\t%s\t%s\t\n", t.name, m, m/direct, upf/m, cpu, t.gomaxprocs)
	}
	tw.Flush()

	if !*skipLatency {
		r := *rate
		if r <= 0 {
			r = median(targets[2].rps) / 2
		}
		fmt.Fprintf(stdout, "\nadded latency: open-loop constant rate %.0f req/s, %s per target, %d interleaved rounds\n", r, duration, *rounds)
		for round := range *rounds {
			for _, t := range targets {
				res := openLoop(ctx, t.addr, r, *duration)
				t.lat = append(t.lat, res)
				fmt.Fprintf(stdout, "round %d %-10s p50 %s p99 %s errors %d\n", round+1, t.name, fmtDur(res.p50), fmtDur(res.p99), res.errors)
			}
		}
		fmt.Fprintf(stdout, "\nlatency at %.0f req/s (medians of %d rounds; latency counted from each request's send, waits for a free connection included)\n", r, *rounds)
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "target\tsent\terrors\tp50\tp99\tp99.9\tadded p99 vs direct\t")
		for _, t := range targets {
			var sent, errs int
			var p50, p99, p999, added []time.Duration
			for i, l := range t.lat {
				sent += l.sent
				errs += l.errors
				p50, p99, p999 = append(p50, l.p50), append(p99, l.p99), append(p999, l.p999)
				// Paired with direct's run of the same round: the
				// machine's state drifts less within a round.
				added = append(added, l.p99-targets[0].lat[i].p99)
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t\n", t.name, sent, errs,
				fmtDur(medianDur(p50)), fmtDur(medianDur(p99)), fmtDur(medianDur(p999)), fmtDur(medianDur(added)))
		}
		tw.Flush()
	}
	fmt.Fprintf(stdout, "\nupfactory / caddy: %.2f×   upfactory / haproxy: %.2f×\n", upf/median(targets[2].rps), upf/median(targets[3].rps))
	return nil
}

// children are the processes the benchmark started; stopAll ends each one.
type children struct {
	mu    sync.Mutex
	procs []*child
}

type child struct {
	name  string
	cmd   *exec.Cmd
	ready string // the first line of stdout of our own subcommands
	done  chan struct{}
}

func (cs *children) start(ctx context.Context, dir, name string, env []string, bin string, args ...string) (*exec.Cmd, error) {
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = logf
	// A benchmark killed hard must not leave servers behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, done: make(chan struct{})}
	cs.mu.Lock()
	cs.procs = append(cs.procs, c)
	cs.mu.Unlock()
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		first := true
		for sc.Scan() {
			if first {
				lines <- sc.Text()
				first = false
			}
			fmt.Fprintln(logf, sc.Text())
		}
		if first {
			close(lines)
		}
	}()
	go func() { cmd.Wait(); logf.Close(); close(c.done) }()
	if bin != "caddy" && bin != "haproxy" {
		select {
		case l, ok := <-lines:
			if !ok || !strings.HasPrefix(l, "ready ") {
				return nil, fmt.Errorf("%s did not start (see %s)", name, logf.Name())
			}
			c.ready = l
		case <-time.After(10 * time.Second):
			return nil, fmt.Errorf("%s did not report ready within 10s", name)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return cmd, nil
}

// reported returns the GOMAXPROCS a child of ours printed on its ready line.
func (cs *children) reported(name string) string {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for _, c := range cs.procs {
		if c.name == name {
			if _, v, ok := strings.Cut(c.ready, "gomaxprocs="); ok {
				return v
			}
		}
	}
	return "?"
}

func (cs *children) stopAll() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for _, c := range cs.procs {
		c.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, c := range cs.procs {
		select {
		case <-c.done:
		case <-time.After(5 * time.Second):
			c.cmd.Process.Kill()
			<-c.done
		}
	}
}

// freePorts returns n loopback addresses that were free a moment ago.
func freePorts(n int) ([]string, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	var addrs []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		addrs = append(addrs, ln.Addr().String())
	}
	return addrs, nil
}

// waitReady polls addr until it answers the test body, for up to 10s.
func waitReady(ctx context.Context, addr string) error {
	client := &http.Client{Timeout: time.Second}
	var last error
	for range 200 {
		resp, err := client.Get("http://" + addr + "/")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && len(b) == len(body) {
				return nil
			}
			err = fmt.Errorf("answered %s with %d bytes", resp.Status, len(b))
		}
		last = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("not ready: %w", last)
}

type wrkResult struct {
	rps      float64
	requests int64
	errors   int64
}

var (
	wrkRPS      = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkRequests = regexp.MustCompile(`(\d+) requests in`)
	wrkNon2xx   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	wrkSocket   = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

func runWrk(ctx context.Context, args []string) (wrkResult, error) {
	out, err := exec.CommandContext(ctx, "wrk", args...).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	m := wrkRPS.FindSubmatch(out)
	if m == nil {
		return wrkResult{}, fmt.Errorf("no Requests/sec in wrk output:\n%s", out)
	}
	var res wrkResult
	res.rps, _ = strconv.ParseFloat(string(m[1]), 64)
	if m := wrkRequests.FindSubmatch(out); m != nil {
		res.requests, _ = strconv.ParseInt(string(m[1]), 10, 64)
	}
	if m := wrkNon2xx.FindSubmatch(out); m != nil {
		n, _ := strconv.ParseInt(string(m[1]), 10, 64)
		res.errors += n
	}
	if m := wrkSocket.FindSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.ParseInt(string(s), 10, 64)
			res.errors += n
		}
	}
	return res, nil
}

// cpuTime returns the user+system CPU time pid has used, 0 when unknown.
func cpuTime(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the parenthesized command name; utime and stime are
	// the 14th and 15th fields, in clock ticks (100 per second on Linux).
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * 10 * time.Millisecond
}

func toolVersion(bin, arg string) string {
	out, _ := exec.Command(bin, arg).CombinedOutput()
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

type latencyResult struct {
	sent, errors   int
	p50, p99, p999 time.Duration
}

// loadConns is the generator's connection count: enough that at the rates
// measured here a request waits for a free connection only when the target
// has stalled, which then shows up as latency.
const loadConns = 128

// openLoop sends requests at a constant rate whatever the answers' pace, so
// a stall shows up as latency rather than as fewer requests (no coordinated
// omission). It speaks
// HTTP/1.1 itself over kept-alive connections: a net/http client would cost
// as much CPU as the proxies it measures, on the same two cores.
func openLoop(ctx context.Context, addr string, rate float64, d time.Duration) latencyResult {
	n := int(rate * d.Seconds())
	interval := time.Duration(float64(time.Second) / rate)
	lat := make([]time.Duration, 0, n)
	var mu sync.Mutex
	var errs atomic.Int64
	type job struct{ at time.Time }
	jobs := make(chan job, n)
	req := []byte("GET / HTTP/1.1\r\nHost: " + addr + "\r\nUser-Agent: upfactory-bench\r\n\r\n")
	var wg sync.WaitGroup
	for range loadConns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var c *rawConn
			mine := make([]time.Duration, 0, n/loadConns*2)
			for j := range jobs {
				if c == nil {
					var err error
					if c, err = dialRaw(addr); err != nil {
						errs.Add(1)
						continue
					}
				}
				if err := c.roundTrip(req); err != nil {
					errs.Add(1)
					c.close()
					c = nil
					continue
				}
				mine = append(mine, time.Since(j.at))
			}
			if c != nil {
				c.close()
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	start := time.Now().Add(10 * time.Millisecond)
	sent := 0
	for i := range n {
		at := start.Add(time.Duration(i) * interval)
		if w := time.Until(at); w > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(w):
			}
		}
		if ctx.Err() != nil {
			break
		}
		// Timers wake the generator with 1ms granularity (the Go
		// runtime's epoll timeout), so it sends in small bursts;
		// latency counts from the send, not from the schedule, to keep
		// that lateness out of the targets' numbers. A request that
		// waits for a free connection still counts the wait.
		jobs <- job{time.Now()}
		sent++
	}
	close(jobs)
	wg.Wait()
	slices.Sort(lat)
	q := func(f float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(f*float64(len(lat))))]
	}
	return latencyResult{sent: sent, errors: int(errs.Load()), p50: q(0.50), p99: q(0.99), p999: q(0.999)}
}

// rawConn is one kept-alive HTTP/1.1 client connection.
type rawConn struct {
	conn net.Conn
	r    *bufio.Reader
}

func dialRaw(addr string) (*rawConn, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &rawConn{conn: c, r: bufio.NewReaderSize(c, 4096)}, nil
}

func (c *rawConn) close() { c.conn.Close() }

// roundTrip writes req and reads one answer, which must be a 200 with a
// Content-Length or chunked body, on a connection the server keeps open.
func (c *rawConn) roundTrip(req []byte) error {
	c.conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.conn.Write(req); err != nil {
		return err
	}
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(line, []byte("HTTP/1.1 200 ")) {
		return fmt.Errorf("answer %q", bytes.TrimSpace(line))
	}
	length, chunked, closing := -1, false, false
	for {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return err
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			break
		}
		k, v, _ := bytes.Cut(line, []byte(":"))
		v = bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(v)); err != nil {
				return err
			}
		case bytes.EqualFold(k, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(v, []byte("chunked"))
		case bytes.EqualFold(k, []byte("Connection")):
			closing = bytes.EqualFold(v, []byte("close"))
		}
	}
	switch {
	case chunked:
		for {
			line, err := c.r.ReadSlice('\n')
			if err != nil {
				return err
			}
			size, err := strconv.ParseInt(string(bytes.TrimSpace(line)), 16, 64)
			if err != nil {
				return err
			}
			if _, err := c.r.Discard(int(size) + 2); err != nil {
				return err
			}
			if size == 0 {
				break
			}
		}
	case length >= 0:
		if _, err := c.r.Discard(length); err != nil {
			return err
		}
	default:
		return errors.New("answer without a length")
	}
	if closing {
		return errors.New("server closed the connection")
	}
	return nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func medianDur(xs []time.Duration) time.Duration {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func fmtDur(d time.Duration) string {
	return fmt.Sprintf("%.0fµs", float64(d)/1e3)
}
