// Command loadgen measures the ceiling of upfactory's built-in load
// generator (probe.Drive, which CompareLoad uses for production-like load)
// against wrk in the same run, both hitting a trivial Go handler on loopback.
//
// Subcommands: backend (the trivial handler, run as its own process so it
// does not share a Go runtime with the generator) and run (starts the
// backend, measures in interleaved rounds, prints medians).
// bench/loadgen.sh builds it and checks for wrk.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/upfactory/upfactory/loadgen"
	"github.com/upfactory/upfactory/probe"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Main(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

const usage = `usage: loadgen run [-duration 10s] [-rounds 3] [-connections 64] [-threads 2] [-demo]
       loadgen backend [-addr 127.0.0.1:0]`

// Main runs one subcommand.
func Main(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	switch args[0] {
	case "backend":
		return runBackend(ctx, args[1:], stdout)
	case "run":
		return runBench(ctx, args[1:], stdout)
	}
	return fmt.Errorf("unknown subcommand %q\n%s", args[0], usage)
}

// runBackend serves "ok\n" on every path and prints its address.
func runBackend(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("backend", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", *addr, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("ok\n"))
	})}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	fmt.Fprintln(stdout, ln.Addr())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func runBench(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	duration := fs.Duration("duration", 10*time.Second, "length of each measurement")
	rounds := fs.Int("rounds", 3, "interleaved rounds; medians are reported")
	conns := fs.Int("connections", 64, "wrk connections, and requests in flight for upfactory's generator")
	threads := fs.Int("threads", 2, "wrk threads")
	demo := fs.Bool("demo", false, "also measure loadgen.Run, the demo's steady-traffic generator")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *rounds < 1 || *duration < time.Second || *conns < 1 || *threads < 1 || *threads > *conns {
		return errors.New("want -rounds ≥ 1, -duration ≥ 1s (wrk counts whole seconds), -connections ≥ -threads ≥ 1")
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		return errors.New("wrk not found: apt-get install -y wrk (or bench/loadgen.sh --install)")
	}

	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding this program: %w", err)
	}
	bctx, stopBackend := context.WithCancel(ctx)
	defer stopBackend()
	backend := exec.CommandContext(bctx, self, "backend")
	backend.Cancel = func() error { return backend.Process.Signal(syscall.SIGTERM) }
	backend.WaitDelay = 5 * time.Second
	backend.Stderr = os.Stderr
	out, err := backend.StdoutPipe()
	if err != nil {
		return err
	}
	if err := backend.Start(); err != nil {
		return fmt.Errorf("starting the backend: %w", err)
	}
	defer backend.Wait()
	defer stopBackend()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return fmt.Errorf("reading the backend's address: %w", err)
	}
	url := "http://" + strings.TrimSpace(line)

	fmt.Fprintf(stdout, "GOMAXPROCS %d (this process and the backend), %d cores, no CPU pinning; wrk, the generator and the backend share the machine\n",
		runtime.GOMAXPROCS(0), runtime.NumCPU())
	fmt.Fprintf(stdout, "backend: trivial Go handler answering \"ok\\n\" at %s, its own process\n", url)
	fmt.Fprintf(stdout, "each round: wrk -t%d -c%d -d%s, then probe.Drive with %d requests in flight for %s", *threads, *conns, *duration, *conns, *duration)
	if *demo {
		fmt.Fprintf(stdout, ", then loadgen.Run with %d clients", *conns)
	}
	fmt.Fprintln(stdout)

	// One short warm-up of each, so the first round is not the one that
	// pays for page faults and connection set-up.
	warm := min(2*time.Second, *duration)
	if _, err := runWrk(ctx, *threads, *conns, warm, url); err != nil {
		return err
	}
	drive(ctx, url, *conns, warm)

	// Ratios are taken within a round and their median reported: other
	// work on a shared machine moves both figures of a round together far
	// more than it moves their ratio.
	var wrkRPS, driveRPS, demoRPS, driveRatio, demoRatio []float64
	for r := 1; r <= *rounds; r++ {
		w, err := runWrk(ctx, *threads, *conns, *duration, url)
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		d, errs := drive(ctx, url, *conns, *duration)
		wrkRPS, driveRPS, driveRatio = append(wrkRPS, w), append(driveRPS, d), append(driveRatio, d/w)
		fmt.Fprintf(stdout, "round %d: wrk %8.0f req/s   upfactory %8.0f req/s (%d errors)   ratio %.2f", r, w, d, errs, d/w)
		if *demo {
			g := runDemo(ctx, url, *conns, *duration)
			demoRPS, demoRatio = append(demoRPS, g), append(demoRatio, g/w)
			fmt.Fprintf(stdout, "   loadgen.Run %8.0f req/s (ratio %.2f)", g, g/w)
		}
		fmt.Fprintln(stdout)
	}
	fmt.Fprintf(stdout, "median over %d rounds: wrk %.0f req/s, upfactory (probe.Drive) %.0f req/s, upfactory/wrk %.2f (median of the rounds' ratios)\n",
		*rounds, median(wrkRPS), median(driveRPS), median(driveRatio))
	if *demo {
		fmt.Fprintf(stdout, "median loadgen.Run (demo traffic) %.0f req/s, loadgen.Run/wrk %.2f\n", median(demoRPS), median(demoRatio))
	}
	return nil
}

// drive runs upfactory's production-like load generator at a rate far
// above what the machine can serve, so what comes back is its ceiling.
func drive(ctx context.Context, url string, conns int, d time.Duration) (rps float64, errs int64) {
	s := probe.Drive(ctx, probe.DriveOptions{URL: url, Rate: 1e7, Duration: d, Connections: conns})
	return s.Throughput(), s.Errors
}

func runDemo(ctx context.Context, url string, conns int, d time.Duration) float64 {
	rctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	res, done := loadgen.Run(rctx, loadgen.Options{BaseURL: url, Rate: 1e7, Clients: conns, SessionRequests: 1 << 30})
	<-done
	return float64(res.Snapshot().Total) / time.Since(start).Seconds()
}

var wrkRPSLine = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)

func runWrk(ctx context.Context, threads, conns int, d time.Duration, url string) (float64, error) {
	args := []string{"-t" + strconv.Itoa(threads), "-c" + strconv.Itoa(conns), "-d" + strconv.Itoa(int(d.Seconds())) + "s", url + "/"}
	out, err := exec.CommandContext(ctx, "wrk", args...).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("wrk %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	m := wrkRPSLine.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no Requests/sec in wrk output:\n%s", out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(v))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
