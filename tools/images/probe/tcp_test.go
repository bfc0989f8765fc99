package main

import (
	"net"
	"strings"
	"testing"
)

func tcpCLI(t *testing.T, args ...string) (TCPResult, int) {
	t.Helper()
	var res TCPResult
	code := runJSON(t, append([]string{"tcp"}, args...), &res)
	return res, code
}

func listen(t *testing.T, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func TestTCP(t *testing.T) {
	ln := listen(t, "127.0.0.1:0")
	res, code := tcpCLI(t, "--addr", ln.Addr().String())
	if code != exitOK || !res.OK || res.RemoteAddr != ln.Addr().String() || !strings.HasPrefix(res.LocalAddr, "127.0.0.1:") || res.LocalTarget || res.PeerIsSelf {
		t.Fatalf("exit %d: %+v", code, res)
	}
	res, code = tcpCLI(t, "--addr", closedPort(t))
	if code != exitFail || res.OK || res.Error == "" {
		t.Fatalf("exit %d: %+v", code, res)
	}
}

func TestTCPByNameThroughDNSServer(t *testing.T) {
	ln := listen(t, "127.0.0.1:0")
	port := portOf(t, ln.Addr().String())
	f := newFakeDNS(t)
	f.A("db.default.svc.cluster.local", "127.0.0.1")

	res, code := tcpCLI(t, "--addr", "db:"+port, "--dns-server", f.Addr, "--search", kubeSearch, "--ndots", "5", "--allow-local")
	if code != exitOK || !res.OK || res.ResolvedAddr != "127.0.0.1:"+port || res.DNS == nil || res.DNS.Name != "db.default.svc.cluster.local" || !res.LocalTarget {
		t.Fatalf("exit %d: %+v", code, res)
	}
	res, code = tcpCLI(t, "--addr", "db:"+port, "--dns-server", f.Addr, "--search", kubeSearch, "--ndots", "5")
	if code != exitFail || res.OK || !res.LocalTarget || !strings.Contains(res.Error, "is local to the source pod") {
		t.Fatalf("without --allow-local: exit %d: %+v", code, res)
	}
	res, code = tcpCLI(t, "--addr", "nothing:"+port, "--dns-server", f.Addr)
	if code != exitFail || res.DNS == nil || res.DNS.Rcode != "NXDOMAIN" || res.RemoteAddr != "" {
		t.Fatalf("unknown name: exit %d: %+v", code, res)
	}
}

func TestTCPToAddressOfOwnInterfaceFails(t *testing.T) {
	ip := nonLoopbackIP(t)
	ln := listen(t, net.JoinHostPort(ip, "0"))
	res, code := tcpCLI(t, "--addr", ln.Addr().String())
	want := "the target address " + ip + " is local to the source pod (its network namespace answers for it)"
	if code != exitFail || res.OK || !res.LocalTarget || res.Error != want || res.RemoteAddr != ln.Addr().String() || res.LocalAddr == "" {
		t.Fatalf("exit %d: %+v", code, res)
	}
}
