package main

import (
	"net"
	"strings"
	"testing"
)

func tcpAddr(s string) net.Addr {
	a, err := net.ResolveTCPAddr("tcp", s)
	if err != nil {
		panic(err)
	}
	return a
}

// judgeConn in a pod whose eth0 is 10.244.1.9 and whose loopback a learner
// gave the target's pod IP 10.244.2.5 (the hijack of issue 11).
func TestJudgeConn(t *testing.T) {
	old := interfaceAddrs
	defer func() { interfaceAddrs = old }()
	interfaceAddrs = func() ([]net.Addr, error) {
		return []net.Addr{
			&net.IPNet{IP: net.ParseIP("127.0.0.1"), Mask: net.CIDRMask(8, 32)},
			&net.IPNet{IP: net.ParseIP("10.244.2.5"), Mask: net.CIDRMask(32, 32)},
			&net.IPNet{IP: net.ParseIP("10.244.1.9"), Mask: net.CIDRMask(24, 32)},
		}, nil
	}
	cases := []struct {
		host, local, remote string
		allowLocal          bool
		localTarget, self   bool
		errContains         string
	}{
		{"10.244.3.7", "10.244.1.9:40000", "10.244.3.7:80", false, false, false, ""},                                      // another pod
		{"10.96.0.42", "10.244.1.9:40000", "10.96.0.42:80", false, false, false, ""},                                      // a Service
		{"10.244.2.5", "10.244.2.5:40000", "10.244.2.5:80", false, true, false, "the target address 10.244.2.5 is local"}, // hijacked pod IP
		{"web", "127.0.0.1:40000", "127.0.0.1:80", false, true, false, "the target address 127.0.0.1 is local"},           // name -> loopback
		{"10.244.1.9", "10.244.1.9:40000", "10.244.1.9:80", false, true, false, "is local"},                               // own pod IP
		{"10.244.1.9", "10.244.1.9:40000", "10.244.1.9:80", true, true, false, ""},                                        // allowed
		{"127.0.0.1", "127.0.0.1:40000", "127.0.0.1:80", false, false, false, ""},                                         // asked for loopback
		{"localhost", "127.0.0.1:40000", "127.0.0.1:80", false, false, false, ""},
		{"::1", "[::1]:40000", "[::1]:80", false, false, false, ""},
		{"127.0.0.1", "127.0.0.1:80", "127.0.0.1:80", false, false, true, "connected to itself"}, // TCP self-connect
		{"127.0.0.1", "127.0.0.1:80", "127.0.0.1:80", true, false, true, "connected to itself"},
	}
	for _, c := range cases {
		info, err := judgeConn(c.host, tcpAddr(c.local), tcpAddr(c.remote), c.allowLocal)
		if info.LocalTarget != c.localTarget || info.PeerIsSelf != c.self || info.LocalAddr != c.local || info.RemoteAddr != c.remote {
			t.Errorf("%+v: %+v", c, info)
		}
		if (c.errContains == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.errContains)) {
			t.Errorf("%+v: error %v", c, err)
		}
	}
}
