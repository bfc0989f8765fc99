package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"strings"
	"testing"
)

// TestMain doubles as the real binary when LABRUN_PROBE_TEST_CHILD=1, so
// tests can start genuine "labrun-probe hold" processes (argv[0] chosen by the
// test) for "stop" to find.
func TestMain(m *testing.M) {
	if os.Getenv("LABRUN_PROBE_TEST_CHILD") == "1" {
		os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// runCLI runs the CLI with stdin and returns exit code, stdout and stderr.
func runCLI(args []string, stdin string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(args, strings.NewReader(stdin), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// runJSON runs the CLI and decodes its single JSON line into out.
func runJSON(t *testing.T, args []string, out any) int {
	t.Helper()
	code, stdout, stderr := runCLI(args, "")
	if code == exitUsage {
		t.Fatalf("%q: usage error: %s", args, stderr)
	}
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one JSON line, got %q (stderr %q)", stdout, stderr)
	}
	if err := json.Unmarshal([]byte(lines[0]), out); err != nil {
		t.Fatalf("bad JSON %q: %v", lines[0], err)
	}
	return code
}

func TestUsageErrors(t *testing.T) {
	cases := [][]string{
		{},
		{"bogus"},
		{"http"},
		{"http", "--url", "ftp://x"},
		{"http", "--url", "http://x", "extra"},
		{"http", "--url", "http://x", "--timeout", "nope"},
		{"http", "--url", "http://x", "--search", "svc.cluster.local"}, // --search needs --dns-server
		{"http", "--url", "http://x", "--ndots", "5"},
		{"http", "--url", "http://x", "--dns-server", "kube-dns.kube-system:53"}, // a server must be an IP
		{"http", "--url", "http://x", "--dns-server", "10.96.0.10:0"},
		{"dns"},
		{"dns", "--name", "x", "--type", "MX"},
		{"dns", "--name", "not-an-ip", "--type", "PTR"},
		{"dns", "--name", "a..b"},
		{"dns", "--name", strings.Repeat("x", 64) + ".example"},
		{"dns", "--name", "x", "--search", "cluster.local"},
		{"dns", "--name", "x", "--server", "10.96.0.10", "--ndots", "16"},
		{"dns", "--name", "x", "--server", "10.96.0.10", "--search", "bad..domain"},
		{"tcp"},
		{"tcp", "--addr", "no-port"},
		{"tcp", "--addr", "x:80", "--ndots", "2"},
		{"echo"},
		{"echo", "--url", "https://10.0.0.1:8080"},
		{"echo", "--url", "http://10.0.0.1:8080", "--nonce", strings.Repeat("n", 257)},
		{"batch"},
		{"batch", "--spec", "[]", "--concurrency", "0"},
		{"hold", "--max", "-1s"},
		{"hold", "--listen", "8080"},
		{"stop", "now"},
	}
	for _, args := range cases {
		code, stdout, stderr := runCLI(args, "")
		if code != exitUsage {
			t.Errorf("%q: exit %d, want %d", args, code, exitUsage)
		}
		if stdout != "" {
			t.Errorf("%q: usage error wrote to stdout: %q", args, stdout)
		}
		if stderr == "" {
			t.Errorf("%q: usage error without a message", args)
		}
	}
}

func TestVersion(t *testing.T) {
	code, stdout, _ := runCLI([]string{"version"}, "")
	if code != exitOK || strings.TrimSpace(stdout) != version {
		t.Fatalf("version: code %d output %q", code, stdout)
	}
}

// --- helpers -------------------------------------------------------------------

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// hostPort splits a listener address into its port.
func portOf(t *testing.T, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// nonLoopbackIP returns an address of one of this namespace's interfaces that
// is not loopback, or skips the test when there is none.
func nonLoopbackIP(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Skip("no interface addresses:", err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String()
		}
	}
	t.Skip("this network namespace has no non-loopback IPv4 address")
	return ""
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
