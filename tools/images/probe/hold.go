package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// HoldReady is printed by "hold" once its signal handler is installed (and
// its echo server listens): from then on SIGTERM/SIGINT end it cleanly.
type HoldReady struct {
	Holding bool   `json:"holding"`
	PID     int    `json:"pid"`
	Max     string `json:"max"`    // "0s": until signalled
	Listen  string `json:"listen"` // the echo server's bound address, "" without --listen
}

// HoldResult is printed by "hold" when it ends.
type HoldResult struct {
	OK         bool   `json:"ok"`
	Reason     string `json:"reason"` // "signal", "max" or "error"
	Signal     string `json:"signal,omitempty"`
	Error      string `json:"error,omitempty"`
	DurationMs int64  `json:"durationMs"`
}

func cmdHold(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("hold", stderr)
	maxWait := fs.Duration("max", 600*time.Second, "end after this long; 0: only when signalled")
	listen := fs.String("listen", "", "also serve the echo (GET "+echoPath+"?nonce=N) on this [IP]:PORT")
	if !parse(fs, args, stderr) {
		return exitUsage
	}
	if *maxWait < 0 {
		return usageErr(stderr, "hold", "--max must be >= 0 (0: until signalled)")
	}
	if *listen != "" {
		if _, _, err := net.SplitHostPort(*listen); err != nil {
			return usageErr(stderr, "hold", "--listen must be [IP]:PORT: "+err.Error())
		}
	}
	// As PID 1 the kernel drops signals that have no handler, so handling
	// them explicitly is what makes "stop" and kubelet's SIGTERM work.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)

	start := time.Now()
	ready := HoldReady{Holding: true, PID: os.Getpid(), Max: maxWait.String()}
	if *listen != "" {
		ln, err := net.Listen("tcp", *listen)
		if err != nil {
			res := HoldResult{Reason: "error", Error: "echo server: " + err.Error(), DurationMs: ms(time.Since(start))}
			return emit(stdout, false, res)
		}
		srv := &http.Server{Handler: echoHandler(), ReadHeaderTimeout: 5 * time.Second, ErrorLog: nil}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				fmt.Fprintf(stderr, "labrun-probe hold: echo server: %v\n", err)
			}
		}()
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_ = srv.Shutdown(ctx)
		}()
		ready.Listen = ln.Addr().String()
	}
	if err := writeLine(stdout, ready); err != nil {
		return exitFail
	}
	res := hold(sigs, *maxWait)
	res.DurationMs = ms(time.Since(start))
	return emit(stdout, res.OK, res)
}

// hold waits for a signal, or for maxWait when it is > 0.
func hold(sigs <-chan os.Signal, maxWait time.Duration) HoldResult {
	start := time.Now()
	var expired <-chan time.Time
	if maxWait > 0 {
		timer := time.NewTimer(maxWait)
		defer timer.Stop()
		expired = timer.C
	}
	select {
	case s := <-sigs:
		return HoldResult{OK: true, Reason: "signal", Signal: s.String(), DurationMs: ms(time.Since(start))}
	case <-expired:
		return HoldResult{OK: true, Reason: "max", DurationMs: ms(time.Since(start))}
	}
}
