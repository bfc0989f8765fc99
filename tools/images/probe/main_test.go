package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runJSON runs the CLI and decodes its single JSON line into out.
func runJSON(t *testing.T, args []string, out any) int {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	if out != nil && code != exitUsage {
		lines := strings.Split(strings.TrimRight(stdout.String(), "\n"), "\n")
		if len(lines) != 1 {
			t.Fatalf("want one JSON line, got %q (stderr %q)", stdout.String(), stderr.String())
		}
		if err := json.Unmarshal([]byte(lines[0]), out); err != nil {
			t.Fatalf("bad JSON %q: %v", lines[0], err)
		}
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
		{"dns"},
		{"dns", "--name", "x", "--type", "MX"},
		{"dns", "--name", "not-an-ip", "--type", "PTR"},
		{"tcp"},
		{"tcp", "--addr", "no-port"},
		{"hold", "--max", "0s"},
		{"stop", "now"},
	}
	for _, args := range cases {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != exitUsage {
			t.Errorf("%q: exit %d, want %d", args, code, exitUsage)
		}
		if stdout.Len() != 0 {
			t.Errorf("%q: usage error wrote to stdout: %q", args, stdout.String())
		}
	}
}

func TestVersion(t *testing.T) {
	var stdout bytes.Buffer
	if code := run([]string{"version"}, &stdout, &stdout); code != exitOK || strings.TrimSpace(stdout.String()) != version {
		t.Fatalf("version: code %d output %q", code, stdout.String())
	}
}

func TestHTTPOK(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		_, _ = w.Write([]byte("hello world"))
	}))
	defer srv.Close()

	var res HTTPResult
	if code := runJSON(t, []string{"http", "--url", srv.URL, "--max-body", "5"}, &res); code != exitOK {
		t.Fatalf("exit %d: %+v", code, res)
	}
	if !res.OK || res.Status != http.StatusTeapot || res.Body != "hello" || !res.Truncated {
		t.Fatalf("unexpected result %+v", res)
	}
	if res.RemoteAddr != strings.TrimPrefix(srv.URL, "http://") {
		t.Fatalf("remoteAddr %q, want %q", res.RemoteAddr, srv.URL)
	}
}

func TestHTTPDoesNotFollowRedirects(t *testing.T) {
	srv := httptest.NewServer(http.RedirectHandler("/elsewhere", http.StatusFound))
	defer srv.Close()
	var res HTTPResult
	runJSON(t, []string{"http", "--url", srv.URL}, &res)
	if !res.OK || res.Status != http.StatusFound {
		t.Fatalf("unexpected result %+v", res)
	}
}

func TestHTTPRefused(t *testing.T) {
	addr := closedPort(t)
	var res HTTPResult
	if code := runJSON(t, []string{"http", "--url", "http://" + addr + "/", "--timeout", "2s"}, &res); code != exitFail {
		t.Fatalf("exit %d, want %d", code, exitFail)
	}
	if res.OK || res.Error == "" || res.Status != 0 {
		t.Fatalf("unexpected result %+v", res)
	}
}

func TestHTTPTimeout(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	var res HTTPResult
	start := time.Now()
	if code := runJSON(t, []string{"http", "--url", srv.URL, "--timeout", "200ms"}, &res); code != exitFail {
		t.Fatalf("exit %d, want %d", code, exitFail)
	}
	if res.OK || time.Since(start) > 2*time.Second {
		t.Fatalf("timeout not honoured: %+v after %s", res, time.Since(start))
	}
}

func TestTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var res TCPResult
	if code := runJSON(t, []string{"tcp", "--addr", ln.Addr().String()}, &res); code != exitOK || !res.OK || res.RemoteAddr != ln.Addr().String() {
		t.Fatalf("exit %d: %+v", code, res)
	}
	res = TCPResult{}
	if code := runJSON(t, []string{"tcp", "--addr", closedPort(t)}, &res); code != exitFail || res.OK || res.Error == "" {
		t.Fatalf("exit %d: %+v", code, res)
	}
}

func TestDNSFromHostsFile(t *testing.T) {
	if _, err := os.Stat("/etc/hosts"); err != nil {
		t.Skip("no /etc/hosts")
	}
	res := probeDNS(resolver, "localhost", "A", 2*time.Second)
	if !res.OK || !contains(res.Addresses, "127.0.0.1") {
		t.Fatalf("localhost A: %+v", res)
	}
}

func TestDNSAgainstFakeServer(t *testing.T) {
	r := fakeResolver(t)
	res := probeDNS(r, "web.default.svc.cluster.local", "A", 2*time.Second)
	if !res.OK || len(res.Addresses) != 1 || res.Addresses[0] != "10.96.0.42" {
		t.Fatalf("A: %+v", res)
	}
	res = probeDNS(r, "_http._tcp.web.default.svc.cluster.local", "SRV", 2*time.Second)
	if !res.OK || len(res.Addresses) != 1 || res.Addresses[0] != "web.default.svc.cluster.local:80" {
		t.Fatalf("SRV: %+v", res)
	}
	res = probeDNS(r, "missing.default.svc.cluster.local", "A", 2*time.Second)
	if res.OK || !res.NotFound || res.Timeout || res.Error == "" {
		t.Fatalf("NXDOMAIN: %+v", res)
	}
}

func TestDNSTimeout(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0") // never answers
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", pc.LocalAddr().String())
	}}
	res := probeDNS(r, "slow.example", "A", 300*time.Millisecond)
	if res.OK || !res.Timeout {
		t.Fatalf("want timeout, got %+v", res)
	}
}

func TestHoldEndsOnSignalOrMax(t *testing.T) {
	sigs := make(chan os.Signal, 1)
	sigs <- syscall.SIGTERM
	if res := hold(sigs, time.Minute); !res.OK || res.Reason != "signal" || res.Signal != "terminated" {
		t.Fatalf("signal: %+v", res)
	}
	if res := hold(make(chan os.Signal), 50*time.Millisecond); !res.OK || res.Reason != "max" {
		t.Fatalf("max: %+v", res)
	}
}

func TestHoldCommandHandlesSIGTERM(t *testing.T) {
	// A SIGTERM that lands before hold installs its handler would kill the
	// test binary (and a fixed sleep is outlasted on a busy machine): the test
	// catches SIGTERM too, and signals until hold answers.
	guard := make(chan os.Signal, 64)
	signal.Notify(guard, syscall.SIGTERM)
	defer signal.Stop(guard)
	done := make(chan int, 1)
	var stdout bytes.Buffer
	go func() { done <- run([]string{"hold", "--max", "10s"}, &stdout, &stdout) }()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	giveUp := time.After(8 * time.Second)
	for {
		if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case code := <-done:
			if code != exitOK || !strings.Contains(stdout.String(), `"reason":"signal"`) {
				t.Fatalf("code %d output %q", code, stdout.String())
			}
			return
		case <-tick.C:
		case <-giveUp:
			t.Fatal("hold did not return after SIGTERM")
		}
	}
}

func TestStop(t *testing.T) {
	old := killPID1
	defer func() { killPID1 = old }()
	called := false
	killPID1 = func() error { called = true; return nil }
	var res StopResult
	if code := runJSON(t, []string{"stop"}, &res); code != exitOK || !res.OK || !called {
		t.Fatalf("exit %d: %+v", code, res)
	}
	killPID1 = func() error { return errors.New("operation not permitted") }
	if code := runJSON(t, []string{"stop"}, &res); code != exitFail || res.OK || res.Error == "" {
		t.Fatalf("exit %d: %+v", code, res)
	}
}

// --- helpers -------------------------------------------------------------------

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

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

// fakeResolver returns a Go resolver whose every query goes to a tiny UDP DNS
// server that knows one A record and one SRV record and answers NXDOMAIN
// otherwise.
func fakeResolver(t *testing.T) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if resp := fakeAnswer(buf[:n]); resp != nil {
				_, _ = pc.WriteTo(resp, from)
			}
		}
	}()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", pc.LocalAddr().String())
	}}
}

func fakeAnswer(q []byte) []byte {
	if len(q) < 12 {
		return nil
	}
	// parse the single question
	off, labels := 12, []string{}
	for off < len(q) && q[off] != 0 {
		l := int(q[off])
		if off+1+l > len(q) {
			return nil
		}
		labels = append(labels, string(q[off+1:off+1+l]))
		off += 1 + l
	}
	off++ // root label
	if off+4 > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[off:])
	question := q[12 : off+4]
	name := strings.ToLower(strings.Join(labels, "."))

	var rdata []byte
	var rtype uint16
	switch {
	case name == "web.default.svc.cluster.local" && qtype == 1: // A
		rtype, rdata = 1, []byte{10, 96, 0, 42}
	case name == "_http._tcp.web.default.svc.cluster.local" && qtype == 33: // SRV
		rtype = 33
		rdata = []byte{0, 10, 0, 100, 0, 80} // priority 10, weight 100, port 80
		for _, l := range []string{"web", "default", "svc", "cluster", "local"} {
			rdata = append(rdata, byte(len(l)))
			rdata = append(rdata, l...)
		}
		rdata = append(rdata, 0)
	}

	resp := make([]byte, 12, 512)
	copy(resp, q[:2])                            // id
	binary.BigEndian.PutUint16(resp[2:], 0x8180) // response, RD, RA, NOERROR
	binary.BigEndian.PutUint16(resp[4:], 1)      // QDCOUNT
	knownName := name == "web.default.svc.cluster.local" || name == "_http._tcp.web.default.svc.cluster.local"
	if !knownName {
		binary.BigEndian.PutUint16(resp[2:], 0x8183) // NXDOMAIN
	}
	resp = append(resp, question...)
	if rdata != nil {
		binary.BigEndian.PutUint16(resp[6:], 1) // ANCOUNT
		ans := []byte{0xc0, 12}                 // pointer to the question name
		ans = binary.BigEndian.AppendUint16(ans, rtype)
		ans = binary.BigEndian.AppendUint16(ans, 1) // IN
		ans = binary.BigEndian.AppendUint32(ans, 30)
		ans = binary.BigEndian.AppendUint16(ans, uint16(len(rdata)))
		ans = append(ans, rdata...)
		resp = append(resp, ans...)
	}
	return resp
}
