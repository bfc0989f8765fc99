package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeProc builds a /proc tree: pid -> (argv, mount namespace); "self" is pid 9.
func fakeProc(t *testing.T, procs map[int][2]string) string {
	t.Helper()
	root := t.TempDir()
	for pid, p := range procs {
		dir := filepath.Join(root, strconv.Itoa(pid))
		if err := os.MkdirAll(filepath.Join(dir, "ns"), 0o755); err != nil {
			t.Fatal(err)
		}
		cmdline := strings.ReplaceAll(p[0], " ", "\x00") + "\x00"
		if err := os.WriteFile(filepath.Join(dir, "cmdline"), []byte(cmdline), 0o644); err != nil {
			t.Fatal(err)
		}
		if p[1] != "" {
			if err := os.Symlink(p[1], filepath.Join(dir, "ns", "mnt")); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.Symlink("9", filepath.Join(root, "self")); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestFindHolds(t *testing.T) {
	const mine, other = "mnt:[4026532001]", "mnt:[4026532002]"
	cases := []struct {
		name  string
		procs map[int][2]string
		want  []int
	}{
		{"hold is PID 1 (own PID namespace)", map[int][2]string{
			1: {"labrun-probe hold --max 600s", mine},
			9: {"labrun-probe stop", mine},
		}, []int{1}},
		{"shareProcessNamespace: PID 1 is pause, another container's probe has its own mounts", map[int][2]string{
			1:  {"/pause", other},
			7:  {"/usr/local/bin/labrun-probe hold --max 0", mine},
			8:  {"labrun-probe hold --max 600s", other},
			12: {"nginx: master process", other},
			9:  {"labrun-probe stop", mine},
		}, []int{7}},
		{"a learner's look-alike and an unreadable namespace", map[int][2]string{
			1:  {"/pause", other},
			3:  {"sh -c labrun-probe hold", mine},
			4:  {"labrun-probe-fake hold", mine},
			5:  {"labrun-probe hold", ""},
			6:  {"labrun-probe version", mine},
			9:  {"labrun-probe stop", mine},
			10: {"", mine},
		}, nil},
	}
	for _, c := range cases {
		root := fakeProc(t, c.procs)
		got, ns, err := findHolds(root)
		if err != nil || ns != mine || len(got) != len(c.want) {
			t.Errorf("%s: %v %q %v", c.name, got, ns, err)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s: %v, want %v", c.name, got, c.want)
			}
		}
	}
}

func TestStopWithoutOwnNamespaceSignalsNothing(t *testing.T) {
	root := fakeProc(t, map[int][2]string{
		1: {"labrun-probe hold", "mnt:[1]"},
		9: {"labrun-probe stop", ""},
	})
	res := stopHolds(root)
	if res.OK || len(res.Stopped) != 0 || !strings.Contains(res.Error, "mount namespace") {
		t.Fatalf("%+v", res)
	}
}

type child struct {
	cmd     *exec.Cmd
	out     *bufio.Scanner
	exited  chan struct{} // closed when the process has exited
	waitErr error         // Wait's result, once exited is closed
}

// startChild runs this test binary as the probe with the given argv (argv[0]
// included) and waits for hold's readiness line.
func startChild(t *testing.T, argv ...string) *child {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	pr, pw, err := os.Pipe() // not cmd.StdoutPipe: Wait must not close what we still read
	if err != nil {
		t.Fatal(err)
	}
	cmd := &exec.Cmd{Path: exe, Args: argv, Env: append(os.Environ(), "LABRUN_PROBE_TEST_CHILD=1"), Stdout: pw}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	c := &child{cmd: cmd, out: bufio.NewScanner(pr), exited: make(chan struct{})}
	go func() { c.waitErr = cmd.Wait(); close(c.exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-c.exited
		pr.Close()
	})
	if !c.out.Scan() || !strings.Contains(c.out.Text(), `"holding":true`) {
		t.Fatalf("child %q did not get ready: %q", argv, c.out.Text())
	}
	return c
}

// only lets stop see pid, so that a test never stops a hold it did not start
// (another test run on the same machine has one too).
func only(t *testing.T, pid int) {
	old := stopFilter
	stopFilter = func(p int) bool { return p == pid }
	t.Cleanup(func() { stopFilter = old })
}

// A real "labrun-probe hold" process, found through the real /proc, gets
// SIGTERM and ends cleanly.
func TestStopEndsTheHoldProcess(t *testing.T) {
	c := startChild(t, "labrun-probe", "hold", "--max", "0")
	pid := c.cmd.Process.Pid
	only(t, pid)

	var res StopResult
	if code := runJSON(t, []string{"stop"}, &res); code != exitOK || !res.OK || len(res.Stopped) != 1 || res.Stopped[0] != pid {
		t.Fatalf("exit %d %+v", code, res)
	}
	if !c.out.Scan() {
		t.Fatal("the hold printed no result")
	}
	var held HoldResult
	if err := json.Unmarshal(c.out.Bytes(), &held); err != nil || held.Reason != "signal" || held.Signal != "terminated" {
		t.Fatalf("hold result %q", c.out.Text())
	}
	select {
	case <-c.exited:
		if c.waitErr != nil {
			t.Fatalf("hold exited with %v", c.waitErr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("hold still runs after stop")
	}
}

// A process that is not the probe's hold is never signalled, and stop says
// there was nothing to stop.
func TestStopLeavesOtherProcessesAlone(t *testing.T) {
	c := startChild(t, "not-labrun-probe", "hold", "--max", "0")
	only(t, c.cmd.Process.Pid)

	var res StopResult
	if code := runJSON(t, []string{"stop"}, &res); code != exitOK || !res.OK || len(res.Stopped) != 0 || !strings.Contains(res.Message, "nothing to stop") {
		t.Fatalf("exit %d %+v", code, res)
	}
	// Stopped is what stop signalled; also look at the process itself: a
	// signalled hold would print its result and exit.
	select {
	case <-c.exited:
		t.Fatal("stop ended a process that is not a labrun-probe hold")
	case <-time.After(200 * time.Millisecond):
	}
}
