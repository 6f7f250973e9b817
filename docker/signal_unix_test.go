//go:build unix

package main

import (
	"context"
	"syscall"
	"testing"
	"time"
)

// The real signal path: SIGTERM to this process cancels signalContext's context
// (signal.Notify is registered, so the test process is not killed).
func TestSignalContextCancelsOnSIGTERM(t *testing.T) {
	ctx, stop := signalContext(context.Background())
	defer stop()
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("context not cancelled by SIGTERM")
	}
}
