package main

// "stop" ends the "hold" of its own container and nothing else. The probe
// image is FROM scratch (no writable /tmp for a pid file, and uid 65532 cannot
// create one), and PID 1 is not always the hold: with shareProcessNamespace it
// is the pod's pause process, and other containers' processes are visible.
// So stop scans /proc for processes whose command line is "labrun-probe hold
// ..." and whose mount namespace is the caller's: an exec into a container
// joins that container's mount namespace, so this matches exactly the hold of
// the container stop runs in (another container's probe, in a shared PID
// namespace, has its own mount namespace). Each match is opened as a pidfd
// (os.FindProcess), checked again, then signalled through the pidfd, so a PID
// reused in between is never signalled.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// StopResult is printed by "stop". Stopped lists the PIDs sent SIGTERM;
// Message says what happened when there was nothing to stop.
type StopResult struct {
	OK      bool   `json:"ok"`
	Stopped []int  `json:"stopped"`
	Message string `json:"message,omitempty"`
	Error   string `json:"error"`
}

// procRoot and stopFilter are variables for tests: a fake /proc tree, and a
// filter that keeps a test from stopping holds it did not start.
var (
	procRoot   = "/proc"
	stopFilter = func(pid int) bool { return true }
)

func cmdStop(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("stop", stderr)
	if !parse(fs, args, stderr) {
		return exitUsage
	}
	res := stopHolds(procRoot)
	return emit(stdout, res.OK, res)
}

func stopHolds(root string) StopResult {
	res := StopResult{Stopped: []int{}}
	pids, selfNS, err := findHolds(root)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	var errs []string
	for _, pid := range pids {
		if !stopFilter(pid) {
			continue
		}
		err := signalHold(root, pid, selfNS)
		switch {
		case err == nil:
			res.Stopped = append(res.Stopped, pid)
		case errors.Is(err, os.ErrProcessDone):
			// ended on its own meanwhile: nothing to do
		default:
			errs = append(errs, fmt.Sprintf("pid %d: %v", pid, err))
		}
	}
	if len(errs) > 0 {
		res.Error = "could not signal the hold: " + strings.Join(errs, "; ")
		return res
	}
	res.OK = true
	if len(res.Stopped) == 0 {
		res.Message = "no labrun-probe hold process runs in this container: nothing to stop"
	}
	return res
}

// signalHold sends SIGTERM to pid through a pidfd, after checking, with the
// pidfd open, that pid is still a hold of our mount namespace.
func signalHold(root string, pid int, selfNS string) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	defer func() { _ = p.Release() }()
	if !isHold(root, pid, selfNS) {
		return os.ErrProcessDone
	}
	return p.Signal(syscall.SIGTERM)
}

// findHolds returns the PIDs of "labrun-probe hold" processes in the caller's
// mount namespace (the caller excluded), in ascending order, and that
// namespace. An unreadable own namespace is an error: without it nothing can
// be verified, so nothing is signalled.
func findHolds(root string) ([]int, string, error) {
	selfNS, err := os.Readlink(filepath.Join(root, "self", "ns", "mnt"))
	if err != nil {
		return nil, "", fmt.Errorf("cannot read this process's mount namespace, so no hold process can be verified: %v", err)
	}
	self := -1
	if link, err := os.Readlink(filepath.Join(root, "self")); err == nil {
		self, _ = strconv.Atoi(filepath.Base(link))
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, "", fmt.Errorf("cannot list processes: %v", err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 || pid == self {
			continue
		}
		if isHold(root, pid, selfNS) {
			pids = append(pids, pid)
		}
	}
	sort.Ints(pids)
	return pids, selfNS, nil
}

// isHold: argv is "labrun-probe hold ..." (argv[0] may be a path) and the
// process's mount namespace is selfNS.
func isHold(root string, pid int, selfNS string) bool {
	dir := filepath.Join(root, strconv.Itoa(pid))
	raw, err := os.ReadFile(filepath.Join(dir, "cmdline"))
	if err != nil {
		return false
	}
	argv := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
	if len(argv) < 2 || filepath.Base(argv[0]) != "labrun-probe" || argv[1] != "hold" {
		return false
	}
	ns, err := os.Readlink(filepath.Join(dir, "ns", "mnt"))
	return err == nil && ns == selfNS
}
