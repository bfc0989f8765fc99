package main

import (
	"context"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

var kubeSearch = "default.svc.cluster.local,svc.cluster.local,cluster.local"

// clusterDNS is a fake cluster DNS with a Service, its SRV record and the
// reverse record of its ClusterIP.
func clusterDNS(t *testing.T) *fakeDNS {
	t.Helper()
	f := newFakeDNS(t)
	f.A("web.default.svc.cluster.local", "10.96.0.42")
	f.SRV("_http._tcp.web.default.svc.cluster.local", "web.default.svc.cluster.local", 80)
	f.PTR("42.0.96.10.in-addr.arpa", "web.default.svc.cluster.local")
	f.AAAA("web6.default.svc.cluster.local", "fd00:10:96::42")
	return f
}

func dnsCLI(t *testing.T, args ...string) (DNSResult, int) {
	t.Helper()
	var res DNSResult
	code := runJSON(t, append([]string{"dns"}, args...), &res)
	return res, code
}

func TestDNSDirectRecordTypes(t *testing.T) {
	f := clusterDNS(t)
	cases := []struct {
		name, qtype, want, answeredName string
	}{
		{"web.default.svc.cluster.local", "A", "10.96.0.42", "web.default.svc.cluster.local"},
		{"web6.default.svc.cluster.local", "AAAA", "fd00:10:96::42", "web6.default.svc.cluster.local"},
		{"_http._tcp.web.default.svc.cluster.local", "SRV", "web.default.svc.cluster.local:80", "_http._tcp.web.default.svc.cluster.local"},
		{"10.96.0.42", "PTR", "web.default.svc.cluster.local", "42.0.96.10.in-addr.arpa"},
	}
	for _, c := range cases {
		res, code := dnsCLI(t, "--name", c.name, "--type", c.qtype, "--server", f.Addr)
		if code != exitOK || !res.OK || !equalStrings(res.Addresses, []string{c.want}) {
			t.Errorf("%s %s: exit %d %+v", c.qtype, c.name, code, res)
			continue
		}
		if res.Server != f.Addr || res.Rcode != "NOERROR" || res.Name != c.answeredName || res.Transport != "udp" || res.NotFound || res.Timeout {
			t.Errorf("%s %s: metadata %+v", c.qtype, c.name, res)
		}
	}
}

// A hosts file (or hostAliases, which kubelet writes into it) cannot answer
// a direct query: "localhost" is in every /etc/hosts, not in the cluster DNS.
func TestDNSDirectIgnoresHostsFile(t *testing.T) {
	hosts, err := os.ReadFile("/etc/hosts")
	if err != nil || !strings.Contains(string(hosts), "localhost") {
		t.Skip("no /etc/hosts with localhost to compare with")
	}
	f := clusterDNS(t)
	if sys, _ := dnsCLI(t, "--name", "localhost", "--timeout", "2s"); !sys.OK || sys.Server != "system" {
		t.Fatalf("the system resolver should read /etc/hosts: %+v", sys)
	}
	res, code := dnsCLI(t, "--name", "localhost", "--server", f.Addr)
	if code != exitFail || res.OK || res.Rcode != "NXDOMAIN" || !res.NotFound || len(res.Addresses) != 0 {
		t.Fatalf("direct lookup of localhost: exit %d %+v", code, res)
	}
	if got := f.QueriedNames(); !equalStrings(got, []string{"localhost"}) {
		t.Fatalf("queries %q", got)
	}
}

func TestDNSDirectSearchList(t *testing.T) {
	cases := []struct {
		name      string
		ndots     string
		ok        bool
		wantName  string
		wantTried []string
	}{
		// Kubernetes' resolv.conf: ndots 5, so short names go through the search list first.
		{"web", "5", true, "web.default.svc.cluster.local", []string{"web.default.svc.cluster.local"}},
		{"web.default", "5", true, "web.default.svc.cluster.local", []string{"web.default.default.svc.cluster.local", "web.default.svc.cluster.local"}},
		{"web.default.svc.cluster.local.", "5", true, "web.default.svc.cluster.local", []string{"web.default.svc.cluster.local"}},
		{"missing", "5", false, "missing", []string{"missing.default.svc.cluster.local", "missing.svc.cluster.local", "missing.cluster.local", "missing"}},
		// ndots 1: a name with a dot is tried as is first.
		{"web.default", "1", true, "web.default.svc.cluster.local", []string{"web.default", "web.default.default.svc.cluster.local", "web.default.svc.cluster.local"}},
	}
	for _, c := range cases {
		f := clusterDNS(t)
		res, code := dnsCLI(t, "--name", c.name, "--server", f.Addr, "--search", kubeSearch, "--ndots", c.ndots)
		if res.OK != c.ok || res.Name != c.wantName || !equalStrings(res.Tried, c.wantTried) || !equalStrings(f.QueriedNames(), c.wantTried) {
			t.Errorf("%s ndots %s: exit %d %+v (server saw %q)", c.name, c.ndots, code, res, f.QueriedNames())
		}
		if !c.ok && (res.Rcode != "NXDOMAIN" || !res.NotFound || !strings.Contains(res.Error, "NXDOMAIN")) {
			t.Errorf("%s: %+v", c.name, res)
		}
	}
}

func TestCandidates(t *testing.T) {
	search := []string{"a.example", "b.example."}
	cases := []struct {
		name  string
		ndots int
		want  []string
	}{
		{"x", 1, []string{"x.a.example.", "x.b.example.", "x."}},
		{"x.y", 1, []string{"x.y.", "x.y.a.example.", "x.y.b.example."}},
		{"x.y", 2, []string{"x.y.a.example.", "x.y.b.example.", "x.y."}},
		{"x.y.", 5, []string{"x.y."}},
		{"x", 0, []string{"x.", "x.a.example.", "x.b.example."}},
	}
	for _, c := range cases {
		if got := candidates(c.name, search, c.ndots); !equalStrings(got, c.want) {
			t.Errorf("candidates(%q, ndots %d) = %q, want %q", c.name, c.ndots, got, c.want)
		}
	}
}

func TestDNSDirectNoData(t *testing.T) {
	f := clusterDNS(t)
	res, code := dnsCLI(t, "--name", "web.default.svc.cluster.local", "--type", "AAAA", "--server", f.Addr)
	if code != exitFail || res.OK || res.Rcode != "NOERROR" || !res.NotFound || !strings.Contains(res.Error, "no AAAA records") {
		t.Fatalf("exit %d %+v", code, res)
	}
}

func TestDNSDirectTruncatedRetriesOverTCP(t *testing.T) {
	f := newFakeDNS(t)
	var want []string
	for i := 1; i <= 40; i++ {
		ip := netip.AddrFrom4([4]byte{10, 244, 1, byte(i)}).String()
		f.A("big.default.svc.cluster.local", ip)
		want = append(want, ip)
	}
	f.TruncateUDP("big.default.svc.cluster.local")
	res, code := dnsCLI(t, "--name", "big.default.svc.cluster.local", "--server", f.Addr)
	if code != exitOK || res.Transport != "tcp" || !equalStrings(res.Addresses, want) {
		t.Fatalf("exit %d %+v", code, res)
	}
	q := f.Queries()
	if len(q) != 2 || q[0].Transport != "udp" || q[1].Transport != "tcp" {
		t.Fatalf("queries %+v", q)
	}
}

func TestDNSDirectIgnoresMismatchedAnswers(t *testing.T) {
	f := clusterDNS(t)
	f.SpoofFirst()
	res, code := dnsCLI(t, "--name", "web.default.svc.cluster.local", "--server", f.Addr)
	if code != exitOK || !equalStrings(res.Addresses, []string{"10.96.0.42"}) {
		t.Fatalf("a wrong-ID answer was accepted: exit %d %+v", code, res)
	}
}

func TestDNSDirectServerFailover(t *testing.T) {
	broken := newFakeDNS(t)
	broken.Rcode("*", dnsmessage.RCodeServerFailure)
	good := clusterDNS(t)
	silent := silentDNS(t)
	for _, args := range [][]string{
		{"--server", broken.Addr + "," + good.Addr},
		{"--server", silent, "--server", good.Addr, "--timeout", "4s"},
	} {
		res, code := dnsCLI(t, append([]string{"--name", "web", "--search", kubeSearch, "--ndots", "5"}, args...)...)
		if code != exitOK || res.Server != good.Addr || res.Name != "web.default.svc.cluster.local" {
			t.Errorf("%q: exit %d %+v", args, code, res)
		}
	}
}

// SERVFAIL from every server ends the search: it is reported, not hidden
// behind a later candidate's NXDOMAIN.
func TestDNSDirectServfailStopsSearch(t *testing.T) {
	a, b := newFakeDNS(t), newFakeDNS(t)
	a.Rcode("*", dnsmessage.RCodeServerFailure)
	b.Rcode("*", dnsmessage.RCodeRefused)
	res, code := dnsCLI(t, "--name", "web", "--server", a.Addr, "--server", b.Addr, "--search", kubeSearch, "--ndots", "5")
	if code != exitFail || res.OK || res.NotFound || res.Timeout || res.Rcode != "REFUSED" || res.Server != b.Addr {
		t.Fatalf("exit %d %+v", code, res)
	}
	if !equalStrings(res.Tried, []string{"web.default.svc.cluster.local"}) {
		t.Fatalf("the search went on after SERVFAIL/REFUSED: %q", res.Tried)
	}
}

func TestDNSDirectTimeout(t *testing.T) {
	silent := silentDNS(t)
	res, code := dnsCLI(t, "--name", "web.default.svc.cluster.local", "--server", silent, "--timeout", "300ms")
	if code != exitFail || res.OK || !res.Timeout || res.Server != "" || res.Rcode != "" || !strings.Contains(res.Error, silent) {
		t.Fatalf("exit %d %+v", code, res)
	}
}

func TestDNSDirectRefusedPort(t *testing.T) {
	// Nothing listens: the kernel answers with ICMP port unreachable.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	res, code := dnsCLI(t, "--name", "web.default.svc.cluster.local", "--server", addr, "--timeout", "2s")
	if code != exitFail || res.OK || res.Error == "" {
		t.Fatalf("exit %d %+v", code, res)
	}
}

// A learner can put the cluster DNS Service's IP on the source pod's loopback
// and answer there; this namespace's non-loopback address plays that IP.
func TestDNSDirectRefusesLocalServer(t *testing.T) {
	ip := nonLoopbackIP(t)
	hijack := newFakeDNSOn(t, ip)
	hijack.A("web.default.svc.cluster.local", "10.96.0.42")
	res, code := dnsCLI(t, "--name", "web.default.svc.cluster.local", "--server", hijack.Addr)
	if code != exitFail || res.OK || !res.LocalTarget || !strings.Contains(res.Error, "the DNS server address "+ip+" is local to the source pod") {
		t.Fatalf("exit %d %+v", code, res)
	}
	if q := hijack.Queries(); len(q) != 0 {
		t.Fatalf("the local server was asked: %+v", q)
	}
	// With a genuine server after it, the answer comes from that one, and the
	// skipped local server is still reported.
	good := clusterDNS(t)
	res, code = dnsCLI(t, "--name", "web.default.svc.cluster.local", "--server", hijack.Addr+","+good.Addr)
	if code != exitOK || res.Server != good.Addr || !res.LocalTarget {
		t.Fatalf("with a second server: exit %d %+v", code, res)
	}
}

func TestNormalizeServer(t *testing.T) {
	cases := map[string]string{
		"10.96.0.10":        "10.96.0.10:53",
		"10.96.0.10:5353":   "10.96.0.10:5353",
		"fd00::10":          "[fd00::10]:53",
		"[fd00::10]":        "[fd00::10]:53",
		"[fd00::10]:5353":   "[fd00::10]:5353",
		"kube-dns":          "",
		"kube-dns:53":       "",
		"10.96.0.10:0":      "",
		"10.96.0.10:100000": "",
	}
	for in, want := range cases {
		got, err := normalizeServer(in)
		if (want == "") != (err != nil) || got != want {
			t.Errorf("normalizeServer(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestReverseName(t *testing.T) {
	if got := reverseName(netip.MustParseAddr("10.96.0.42")); got != "42.0.96.10.in-addr.arpa." {
		t.Errorf("v4: %s", got)
	}
	want := "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa."
	if got := reverseName(netip.MustParseAddr("::1")); got != want {
		t.Errorf("v6: %s", got)
	}
}

// --- the system resolver (no --server), kept for compatibility ----------------

func TestDNSSystemFromHostsFile(t *testing.T) {
	if _, err := os.Stat("/etc/hosts"); err != nil {
		t.Skip("no /etc/hosts")
	}
	res := probeDNS(resolver, "localhost", "A", 2*time.Second)
	if !res.OK || !equalStrings(res.Addresses[:1], []string{"127.0.0.1"}) || res.Server != "system" || res.Rcode != "" {
		t.Fatalf("localhost A: %+v", res)
	}
}

// systemResolver is a Go resolver whose every query goes to addr.
func systemResolver(addr string) *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", addr)
	}}
}

func TestDNSSystemAgainstFakeServer(t *testing.T) {
	r := systemResolver(clusterDNS(t).Addr)
	res := probeDNS(r, "web.default.svc.cluster.local", "A", 2*time.Second)
	if !res.OK || !equalStrings(res.Addresses, []string{"10.96.0.42"}) || res.Server != "system" {
		t.Fatalf("A: %+v", res)
	}
	res = probeDNS(r, "_http._tcp.web.default.svc.cluster.local", "SRV", 2*time.Second)
	if !res.OK || !equalStrings(res.Addresses, []string{"web.default.svc.cluster.local:80"}) {
		t.Fatalf("SRV: %+v", res)
	}
	res = probeDNS(r, "missing.default.svc.cluster.local", "A", 2*time.Second)
	if res.OK || !res.NotFound || res.Timeout || res.Error == "" {
		t.Fatalf("NXDOMAIN: %+v", res)
	}
}

func TestDNSSystemTimeout(t *testing.T) {
	r := systemResolver(silentDNS(t))
	res := probeDNS(r, "slow.example", "A", 300*time.Millisecond)
	if res.OK || !res.Timeout {
		t.Fatalf("want timeout, got %+v", res)
	}
}
