package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func httpCLI(t *testing.T, args ...string) (HTTPResult, int) {
	t.Helper()
	var res HTTPResult
	code := runJSON(t, append([]string{"http"}, args...), &res)
	return res, code
}

func TestHTTPOK(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		_, _ = w.Write([]byte("hello <world>"))
	}))
	defer srv.Close()

	res, code := httpCLI(t, "--url", srv.URL, "--max-body", "5")
	if code != exitOK || !res.OK || res.Status != http.StatusTeapot || res.Body != "hello" || !res.Truncated {
		t.Fatalf("exit %d: %+v", code, res)
	}
	if res.RemoteAddr != srv.Listener.Addr().String() || !strings.HasPrefix(res.LocalAddr, "127.0.0.1:") {
		t.Fatalf("addresses: %+v", res)
	}
	// An explicit loopback URL asks for the pod itself: not a hijack.
	if res.LocalTarget || res.PeerIsSelf || res.ResolvedAddr != "" || res.DNS != nil {
		t.Fatalf("flags: %+v", res)
	}
}

func TestHTTPDoesNotFollowRedirects(t *testing.T) {
	srv := httptest.NewServer(http.RedirectHandler("/elsewhere", http.StatusFound))
	defer srv.Close()
	res, _ := httpCLI(t, "--url", srv.URL)
	if !res.OK || res.Status != http.StatusFound {
		t.Fatalf("unexpected result %+v", res)
	}
}

func TestHTTPRefused(t *testing.T) {
	res, code := httpCLI(t, "--url", "http://"+closedPort(t)+"/", "--timeout", "2s")
	if code != exitFail || res.OK || res.Error == "" || res.Status != 0 {
		t.Fatalf("exit %d: %+v", code, res)
	}
}

func TestHTTPTimeout(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	res, code := httpCLI(t, "--url", srv.URL, "--timeout", "200ms")
	if code != exitFail || res.OK || res.Status != 0 || res.Error == "" {
		t.Fatalf("timeout not honoured: exit %d %+v", code, res)
	}
}

// hostRecorder serves 200 and remembers the Host header and SNI of each request.
type hostRecorder struct {
	mu    sync.Mutex
	hosts []string
	snis  []string
}

func (h *hostRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.hosts = append(h.hosts, r.Host)
	if r.TLS != nil {
		h.snis = append(h.snis, r.TLS.ServerName)
	}
	h.mu.Unlock()
	_, _ = w.Write([]byte("web"))
}

func (h *hostRecorder) seen() ([]string, []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.hosts...), append([]string(nil), h.snis...)
}

// By name through the direct resolver: the Service name is resolved by the
// given DNS server with the search list, the request goes to that IP and
// keeps the URL's Host. Everything here lives on 127.0.0.1, which a name
// resolving there makes a local target: --allow-local keeps it a report.
func TestHTTPByNameThroughDNSServer(t *testing.T) {
	rec := &hostRecorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	port := portOf(t, srv.Listener.Addr().String())
	f := newFakeDNS(t)
	f.A("web.default.svc.cluster.local", "127.0.0.1")

	url := "http://web:" + port + "/"
	res, code := httpCLI(t, "--url", url, "--dns-server", f.Addr, "--search", kubeSearch, "--ndots", "5", "--allow-local")
	if code != exitOK || !res.OK || res.Body != "web" || res.ResolvedAddr != "127.0.0.1:"+port || !res.LocalTarget {
		t.Fatalf("exit %d %+v", code, res)
	}
	if res.DNS == nil || res.DNS.Server != f.Addr || res.DNS.Name != "web.default.svc.cluster.local" || res.DNS.Rcode != "NOERROR" {
		t.Fatalf("dns: %+v", res.DNS)
	}
	if hosts, _ := rec.seen(); !equalStrings(hosts, []string{"web:" + port}) {
		t.Fatalf("Host headers %q", hosts)
	}
}

func TestHTTPSKeepsSNI(t *testing.T) {
	rec := &hostRecorder{}
	srv := httptest.NewTLSServer(rec)
	defer srv.Close()
	port := portOf(t, srv.Listener.Addr().String())
	f := newFakeDNS(t)
	f.A("web.test", "127.0.0.1")

	res, code := httpCLI(t, "--url", "https://web.test:"+port+"/", "--dns-server", f.Addr, "--insecure", "--allow-local")
	if code != exitOK || !res.OK || res.Status != http.StatusOK {
		t.Fatalf("exit %d %+v", code, res)
	}
	if hosts, snis := rec.seen(); !equalStrings(snis, []string{"web.test"}) || !equalStrings(hosts, []string{"web.test:" + port}) {
		t.Fatalf("SNI %q Host %q", snis, hosts)
	}
}

// A name that resolves to the pod's own namespace (here: a fake Service
// record pointing at loopback, as a hijack would make it) fails, and the
// request is never sent.
func TestHTTPByNameToLocalAddressFails(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	port := portOf(t, srv.Listener.Addr().String())
	f := newFakeDNS(t)
	f.A("web.default.svc.cluster.local", "127.0.0.1")

	res, code := httpCLI(t, "--url", "http://web.default.svc.cluster.local:"+port+"/", "--dns-server", f.Addr)
	want := "the target address 127.0.0.1 is local to the source pod (its network namespace answers for it)"
	if code != exitFail || res.OK || !res.LocalTarget || res.Error != want || res.Status != 0 || res.RemoteAddr != "127.0.0.1:"+port {
		t.Fatalf("exit %d %+v", code, res)
	}
	if hits.Load() != 0 {
		t.Fatalf("the request reached the local server %d times", hits.Load())
	}
}

// The hijack of issue 11: the target's IP is an address of the source pod's
// own namespace (a debug container added it to an interface) and something in
// the pod serves a page there. This namespace's non-loopback address plays
// the target's IP.
func TestHTTPToAddressOfOwnInterfaceFails(t *testing.T) {
	ip := nonLoopbackIP(t)
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Skip("cannot listen on", ip, err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("fake")) }))
	srv.Listener = ln
	srv.Start()
	defer srv.Close()

	res, code := httpCLI(t, "--url", "http://"+ln.Addr().String()+"/")
	want := "the target address " + ip + " is local to the source pod (its network namespace answers for it)"
	if code != exitFail || res.OK || !res.LocalTarget || res.Error != want || res.Body != "" {
		t.Fatalf("exit %d %+v", code, res)
	}
	// --allow-local: the caller knows the target is this pod.
	res, code = httpCLI(t, "--url", "http://"+ln.Addr().String()+"/", "--allow-local")
	if code != exitOK || !res.OK || !res.LocalTarget || res.Body != "fake" {
		t.Fatalf("--allow-local: exit %d %+v", code, res)
	}
}

func TestHTTPDNSFailure(t *testing.T) {
	f := newFakeDNS(t) // knows nothing
	res, code := httpCLI(t, "--url", "http://localhost:1/", "--dns-server", f.Addr)
	if code != exitFail || res.OK || res.DNS == nil || res.DNS.Rcode != "NXDOMAIN" || !strings.HasPrefix(res.Error, "resolving localhost: ") || res.RemoteAddr != "" {
		t.Fatalf("exit %d %+v", code, res)
	}
}

func TestHTTPDNSTimeoutSharesBudget(t *testing.T) {
	start := time.Now()
	res, code := httpCLI(t, "--url", "http://web:80/", "--dns-server", silentDNS(t), "--timeout", "300ms")
	if code != exitFail || res.DNS == nil || !res.DNS.Timeout || time.Since(start) > 5*time.Second {
		t.Fatalf("exit %d %+v after %s", code, res, time.Since(start))
	}
}

// A name with no A record but an AAAA record is dialled over IPv6.
func TestHTTPByNameFallsBackToAAAA(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback:", err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Listener = ln
	srv.Start()
	defer srv.Close()
	f := newFakeDNS(t)
	f.AAAA("web6.test", "::1")
	port := portOf(t, ln.Addr().String())
	res, code := httpCLI(t, "--url", "http://web6.test:"+port+"/", "--dns-server", f.Addr, "--allow-local")
	if code != exitOK || res.ResolvedAddr != "[::1]:"+port {
		t.Fatalf("exit %d %+v", code, res)
	}
}
