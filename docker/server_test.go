package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"
)

func TestHealthz(t *testing.T) {
	rec := httptest.NewRecorder()
	newHandler("test").ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))

	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var body map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q is not JSON: %v", rec.Body.String(), err)
	}
	if len(body) != 1 || body["status"] != "ok" {
		t.Errorf("body = %v, want {\"status\":\"ok\"}", body)
	}
}

func TestVersionEndpoint(t *testing.T) {
	rec := httptest.NewRecorder()
	newHandler("1.2.3").ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/version", nil))

	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200", rec.Code)
	}
	var body map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q is not JSON: %v", rec.Body.String(), err)
	}
	if body["version"] != "1.2.3" {
		t.Errorf("version = %q, want 1.2.3", body["version"])
	}
	if body["go"] != runtime.Version() {
		t.Errorf("go = %q, want %q", body["go"], runtime.Version())
	}
}

// The test binary is built without -ldflags -X, so the package default shows.
func TestVersionDefaultIsDev(t *testing.T) {
	if version != "dev" {
		t.Fatalf("version = %q, want default \"dev\" (no -X main.version given)", version)
	}
	rec := httptest.NewRecorder()
	newHandler(version).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/version", nil))
	var body map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if body["version"] != "dev" {
		t.Errorf("/version reports %q, want dev", body["version"])
	}
}

func TestMethodAndRouting(t *testing.T) {
	h := newHandler("x")
	cases := []struct {
		method, path string
		want         int
	}{
		{http.MethodHead, "/healthz", http.StatusOK},
		{http.MethodPost, "/healthz", http.StatusMethodNotAllowed},
		{http.MethodDelete, "/version", http.StatusMethodNotAllowed},
		{http.MethodGet, "/nope", http.StatusNotFound},
	}
	for _, c := range cases {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
		if rec.Code != c.want {
			t.Errorf("%s %s = %d, want %d", c.method, c.path, rec.Code, c.want)
		}
		if c.want == http.StatusMethodNotAllowed && rec.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s %s: Allow = %q", c.method, c.path, rec.Header().Get("Allow"))
		}
	}
}

func TestListenAddr(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"default", nil, ":8080"},
		{"port", map[string]string{"PORT": "9090"}, ":9090"},
		{"addr", map[string]string{"ADDR": "127.0.0.1:7070"}, "127.0.0.1:7070"},
		{"addr wins over port", map[string]string{"ADDR": "[::1]:7070", "PORT": "9090"}, "[::1]:7070"},
	}
	for _, c := range cases {
		got := listenAddr(func(k string) string { return c.env[k] })
		if got != c.want {
			t.Errorf("%s: listenAddr = %q, want %q", c.name, got, c.want)
		}
	}
}

// startServe runs serve on 127.0.0.1:0 and returns its base URL and result channel.
func startServe(ctx context.Context, t *testing.T, h http.Handler, timeout time.Duration) (string, <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, h, timeout) }()
	return "http://" + ln.Addr().String(), done
}

func waitDone(t *testing.T, done <-chan error, within time.Duration) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(within):
		t.Fatalf("serve did not return within %v", within)
		return nil
	}
}

func TestServeGracefulShutdown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const timeout = 2 * time.Second
	base, done := startServe(ctx, t, newHandler("dev"), timeout)

	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(base + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d", resp.StatusCode)
	}

	start := time.Now()
	cancel() // what SIGTERM does via signal.NotifyContext
	if err := waitDone(t, done, timeout+time.Second); err != nil {
		t.Fatalf("serve returned %v, want nil after clean shutdown", err)
	}
	if d := time.Since(start); d > timeout {
		t.Errorf("shutdown took %v, want < %v", d, timeout)
	}
	if _, err := client.Get(base + "/healthz"); err == nil {
		t.Error("server still accepts connections after shutdown")
	}
}

func TestServeWaitsForInFlightRequest(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	entered, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(entered)
		<-release
		_, _ = io.WriteString(w, "finished")
	})
	base, done := startServe(ctx, t, h, 5*time.Second)

	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get(base + "/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{string(b), err}
	}()

	<-entered
	cancel()
	select {
	case err := <-done:
		t.Fatalf("serve returned (%v) while a request was in flight", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)

	if r := <-got; r.err != nil || r.body != "finished" {
		t.Fatalf("in-flight request: body %q, err %v", r.body, r.err)
	}
	if err := waitDone(t, done, 3*time.Second); err != nil {
		t.Fatalf("serve returned %v, want nil", err)
	}
}

func TestServeShutdownTimeoutIsBounded(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	entered, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(entered)
		<-release // hangs past the shutdown timeout
	})
	const timeout = 300 * time.Millisecond
	base, done := startServe(ctx, t, h, timeout)
	go func() {
		if resp, err := http.Get(base + "/stuck"); err == nil {
			resp.Body.Close()
		}
	}()

	<-entered
	start := time.Now()
	cancel()
	err := waitDone(t, done, timeout+2*time.Second)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("serve returned %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d < timeout || d > timeout+time.Second {
		t.Errorf("shutdown took %v, want about %v", d, timeout)
	}
}

func TestServeReturnsListenerError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close() // Serve fails at once on a closed listener
	done := make(chan error, 1)
	go func() { done <- serve(context.Background(), ln, newHandler("x"), time.Second) }()
	if err := waitDone(t, done, 2*time.Second); err == nil {
		t.Fatal("serve returned nil for a closed listener")
	}
}
