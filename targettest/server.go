package targettest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const (
	// EnvServe turns a test binary into the test server when it is "1".
	EnvServe = "UPFACTORY_TEST_HTTP"
	// EnvOwner carries the PID of the test binary that started a test
	// server, so that KillStrays finds the ones it left behind.
	EnvOwner = "UPFACTORY_TEST_OWNER"
)

// ServeIfAsked runs the test server and exits, when the environment asks
// for it (EnvServe=1); otherwise it returns at once. Call it first in
// TestMain, so that a test binary can run itself as an instance:
//
//	func TestMain(m *testing.M) {
//		targettest.ServeIfAsked()
//		os.Exit(m.Run())
//	}
//
// The server's flags:
//
//	--listen addr       address to serve on
//	--version v         the version it reports at /version
//	--fail-ready        answer 503 at /healthz forever
//	--crash-after d     exit with status 3 after d
//	--exit n            print "boom" and exit with status n before listening
//	--ignore-term       ignore SIGTERM
//
// and its endpoints: /healthz, /version, /pid, /args (JSON), /env?name=X,
// /crash (exit with status 3), /sick and /well (make /healthz fail or
// answer again).
func ServeIfAsked() {
	if os.Getenv(EnvServe) != "1" {
		return
	}
	os.Exit(serve(os.Args[1:], os.Stderr))
}

func serve(args []string, log io.Writer) int {
	fs := flag.NewFlagSet("testserver", flag.ContinueOnError)
	fs.SetOutput(log)
	listen := fs.String("listen", "127.0.0.1:0", "address to serve on")
	version := fs.String("version", "", "version reported at /version")
	failReady := fs.Bool("fail-ready", false, "answer 503 at /healthz forever")
	crashAfter := fs.Duration("crash-after", 0, "exit with status 3 after this long")
	exitNow := fs.Int("exit", -1, "exit with this status before listening")
	ignoreTerm := fs.Bool("ignore-term", false, "ignore SIGTERM")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *exitNow >= 0 {
		fmt.Fprintf(log, "boom: cannot open the database, exiting with status %d\n", *exitNow)
		return *exitNow
	}
	var sick atomic.Bool
	sick.Store(*failReady)
	if *failReady {
		fmt.Fprintln(log, "refusing readiness on purpose (--fail-ready)")
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if sick.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("/version", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, *version) })
	mux.HandleFunc("/pid", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, strconv.Itoa(os.Getpid())) })
	mux.HandleFunc("/args", func(w http.ResponseWriter, r *http.Request) { json.NewEncoder(w).Encode(os.Args) })
	mux.HandleFunc("/env", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, os.Getenv(r.URL.Query().Get("name"))) })
	mux.HandleFunc("/sick", func(w http.ResponseWriter, r *http.Request) { sick.Store(true) })
	mux.HandleFunc("/well", func(w http.ResponseWriter, r *http.Request) { sick.Store(false) })
	mux.HandleFunc("/crash", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(log, "crashing on request")
		io.WriteString(w, "bye")
		w.(http.Flusher).Flush()
		os.Exit(3)
	})
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(log, "listen: %v\n", err)
		return 1
	}
	fmt.Fprintf(log, "test server %s listening on %s\n", *version, l.Addr())
	if *crashAfter > 0 {
		time.AfterFunc(*crashAfter, func() {
			fmt.Fprintf(log, "crashing after %s (--crash-after)\n", *crashAfter)
			os.Exit(3)
		})
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	term := make(chan os.Signal, 1)
	if *ignoreTerm {
		signal.Ignore(syscall.SIGTERM)
	} else {
		signal.Notify(term, syscall.SIGTERM)
	}
	go func() {
		<-term
		fmt.Fprintln(log, "SIGTERM: shutting down")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(log, "serve: %v\n", err)
		return 1
	}
	return 0
}

// ServerCommand returns the argv of a test server instance: this test
// binary, listening on {{.Port}} and reporting {{.Version}}, with extra
// flags. Run it with ServerEnv.
func ServerCommand(tb testing.TB, extra ...string) []string {
	tb.Helper()
	exe, err := os.Executable()
	if err != nil {
		tb.Fatalf("finding the test binary: %v", err)
	}
	return append([]string{exe, "--listen=127.0.0.1:{{.Port}}", "--version={{.Version}}"}, extra...)
}

// ServerEnv is the environment that makes a test binary serve.
func ServerEnv() map[string]string {
	return map[string]string{EnvServe: "1", EnvOwner: strconv.Itoa(os.Getpid())}
}

// KillStrays kills the test servers this test binary started and that
// still run, and returns their PIDs: call it at the end of TestMain and
// fail when it finds any. It reads /proc and finds nothing without it.
func KillStrays() []int {
	owner := []byte(EnvOwner + "=" + strconv.Itoa(os.Getpid()) + "\x00")
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var pids []int
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(d + "/environ")
		if err != nil || !bytes.Contains(env, owner) {
			continue
		}
		if stat, err := os.ReadFile(d + "/stat"); err == nil {
			if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
				continue // exited, not yet reaped
			}
		}
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		_ = syscall.Kill(pid, syscall.SIGKILL)
		pids = append(pids, pid)
	}
	return pids
}

// Get fetches http://addr/path and returns the body; an error for a
// failed request or a status other than 200.
func Get(addr, path string) (string, error) {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return strings.TrimSpace(string(b)), nil
}
