package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runningHold is "hold" running in this test process, its stdout read line
// by line.
type runningHold struct {
	lines chan string
	done  chan int
	ready HoldReady
}

// startHold runs "hold args..." in the background and waits for its
// readiness line, so that a SIGTERM sent afterwards is always handled.
func startHold(t *testing.T, args ...string) *runningHold {
	t.Helper()
	pr, pw := io.Pipe()
	h := &runningHold{lines: make(chan string, 8), done: make(chan int, 1)}
	go func() {
		code := run(append([]string{"hold"}, args...), strings.NewReader(""), pw, io.Discard)
		pw.Close()
		h.done <- code
	}()
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			h.lines <- sc.Text()
		}
		close(h.lines)
	}()
	line := h.next(t)
	if err := json.Unmarshal([]byte(line), &h.ready); err != nil || !h.ready.Holding {
		t.Fatalf("want the readiness line first, got %q", line)
	}
	return h
}

func (h *runningHold) next(t *testing.T) string {
	t.Helper()
	select {
	case line, ok := <-h.lines:
		if !ok {
			t.Fatal("hold ended without the expected line")
		}
		return line
	case <-time.After(10 * time.Second):
		t.Fatal("hold printed nothing for 10s")
	}
	return ""
}

// end sends SIGTERM to this process (hold handles it) and returns the final
// result and exit code.
func (h *runningHold) end(t *testing.T) (HoldResult, int) {
	t.Helper()
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var res HoldResult
	if err := json.Unmarshal([]byte(h.next(t)), &res); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-h.done:
		return res, code
	case <-time.After(10 * time.Second):
		t.Fatal("hold did not return after SIGTERM")
	}
	return res, 0
}

func TestHoldEndsOnSignalOrMax(t *testing.T) {
	sigs := make(chan os.Signal, 1)
	sigs <- syscall.SIGTERM
	if res := hold(sigs, time.Minute); !res.OK || res.Reason != "signal" || res.Signal != "terminated" {
		t.Fatalf("signal: %+v", res)
	}
	sigs <- syscall.SIGINT
	if res := hold(sigs, 0); !res.OK || res.Reason != "signal" || res.Signal != "interrupt" {
		t.Fatalf("--max 0, signal: %+v", res)
	}
	if res := hold(make(chan os.Signal), 50*time.Millisecond); !res.OK || res.Reason != "max" {
		t.Fatalf("max: %+v", res)
	}
}

func TestHoldCommandHandlesSIGTERM(t *testing.T) {
	h := startHold(t, "--max", "0")
	if h.ready.PID != os.Getpid() || h.ready.Max != "0s" || h.ready.Listen != "" {
		t.Fatalf("ready: %+v", h.ready)
	}
	res, code := h.end(t)
	if code != exitOK || !res.OK || res.Reason != "signal" || res.Signal != "terminated" {
		t.Fatalf("code %d result %+v", code, res)
	}
}

func TestHoldCommandMax(t *testing.T) {
	code, stdout, _ := runCLI([]string{"hold", "--max", "50ms"}, "")
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if code != exitOK || len(lines) != 2 || !strings.Contains(lines[0], `"holding":true`) || !strings.Contains(lines[1], `"reason":"max"`) {
		t.Fatalf("code %d output %q", code, stdout)
	}
}

func TestHoldListenFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var res HoldResult
	code := runJSON(t, []string{"hold", "--listen", ln.Addr().String()}, &res)
	if code != exitFail || res.OK || res.Reason != "error" || !strings.Contains(res.Error, "echo server") {
		t.Fatalf("code %d result %+v", code, res)
	}
}
