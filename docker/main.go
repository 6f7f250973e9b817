// Command app is a minimal HTTP service built into a container image by CodeBuild.
//
// Endpoints:
//
//	GET /healthz  -> 200 {"status":"ok"}
//	GET /version  -> 200 {"version":"<injected at build>","go":"<toolchain>"}
//
// The listen address comes from ADDR (full host:port) or else PORT (default 8080).
// SIGTERM / SIGINT trigger a graceful shutdown bounded by shutdownTimeout.
//
// Standard library only, and it must keep building with Go 1.19 (Debian 12's
// golang-go): no log/slog, errors.Join, method patterns in ServeMux, etc.
package main

import (
	"context"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// version is set at build time: go build -ldflags "-X main.version=1.2.3".
var version = "dev"

// shutdownTimeout bounds how long in-flight requests may take after a signal.
// It stays below the 30 s ECS/Kubernetes default stop grace period.
const shutdownTimeout = 10 * time.Second

func main() {
	logger := log.New(os.Stderr, "app: ", log.LstdFlags|log.LUTC)

	ctx, stop := signalContext(context.Background())
	defer stop()

	addr := listenAddr(os.Getenv)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		logger.Fatalf("listen %s: %v", addr, err)
	}
	logger.Printf("version %s listening on %s", version, ln.Addr())

	if err := serve(ctx, ln, newHandler(version), shutdownTimeout); err != nil {
		logger.Fatalf("server: %v", err)
	}
	logger.Printf("stopped")
}

// signalContext returns a context that is cancelled on SIGTERM or SIGINT.
func signalContext(parent context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(parent, syscall.SIGTERM, os.Interrupt)
}
