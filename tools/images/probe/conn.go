package main

// What a connection says about where it went. The probe shares the source
// pod's network namespace, and so does any debug container a learner adds:
// one that puts the target's IP on the pod's loopback and serves a page there
// makes the target "reachable" without the packet ever leaving the pod. The
// kernel delivers a connection to an address of the namespace's own
// interfaces locally, so such a destination is reported and fails the probe.

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
)

// ConnInfo describes the TCP connection a probe made.
type ConnInfo struct {
	LocalAddr   string `json:"localAddr"`
	RemoteAddr  string `json:"remoteAddr"`
	LocalTarget bool   `json:"localTarget"`
	PeerIsSelf  bool   `json:"peerIsSelf"`
}

// localTargetError fails a probe whose destination is its own pod.
type localTargetError struct{ msg string }

func (e *localTargetError) Error() string { return e.msg }

// interfaceAddrs is a variable so that tests can describe other namespaces.
var interfaceAddrs = net.InterfaceAddrs

// explicitLoopback reports whether the caller asked for the pod itself:
// a loopback IP literal, "localhost" or a name under ".localhost".
func explicitLoopback(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && ip.Unmap().IsLoopback()
}

func addrPort(a net.Addr) (netip.AddrPort, bool) {
	if a == nil {
		return netip.AddrPort{}, false
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
}

// isLocalIP: loopback, unspecified, equal to the connection's own source
// address, or assigned to an interface of this network namespace.
func isLocalIP(ip, source netip.Addr) bool {
	if ip.IsLoopback() || ip.IsUnspecified() || ip == source {
		return true
	}
	addrs, err := interfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		var p netip.Addr
		switch v := a.(type) {
		case *net.IPNet:
			p, _ = netip.AddrFromSlice(v.IP)
		case *net.IPAddr:
			p, _ = netip.AddrFromSlice(v.IP)
		default:
			continue
		}
		if p.Unmap() == ip {
			return true
		}
	}
	return false
}

// judgeConn describes conn and returns an error when the probe must fail:
// the connection is connected to itself (peerIsSelf), or it reached an
// address of the probe's own namespace although host (what the caller asked
// for) was not a loopback address; allowLocal keeps the latter a report only.
func judgeConn(host string, local, remote net.Addr, allowLocal bool) (ConnInfo, error) {
	info := ConnInfo{}
	if local != nil {
		info.LocalAddr = local.String()
	}
	if remote != nil {
		info.RemoteAddr = remote.String()
	}
	l, lok := addrPort(local)
	r, rok := addrPort(remote)
	if !lok || !rok {
		return info, nil
	}
	if l == r {
		info.PeerIsSelf = true
		return info, &localTargetError{fmt.Sprintf("the connection to %s is connected to itself (local and remote address are the same): no server answered", r)}
	}
	if explicitLoopback(host) || !isLocalIP(r.Addr(), l.Addr()) {
		return info, nil
	}
	info.LocalTarget = true
	if allowLocal {
		return info, nil
	}
	return info, &localTargetError{fmt.Sprintf("the target address %s is local to the source pod (its network namespace answers for it)", r.Addr())}
}

// connRecorder dials for a probe and keeps what it learned about the
// connection; the HTTP transport may dial from another goroutine.
type connRecorder struct {
	mu         sync.Mutex
	info       ConnInfo
	dialed     string // the IP:port dialed when the probe chose the IP
	host       string // what the caller asked for (URL host or --addr host)
	allowLocal bool
	ips        []netip.Addr // resolved by the direct resolver; nil: dial addr as is
}

var dialer = &net.Dialer{Resolver: resolver}

// dial connects to addr (or to each resolved IP in turn, on addr's port) and
// judges the connection; a local target is closed before anything is sent.
func (c *connRecorder) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, dialed, err := c.connect(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	info, verdict := judgeConn(c.host, conn.LocalAddr(), conn.RemoteAddr(), c.allowLocal)
	c.mu.Lock()
	c.info, c.dialed = info, dialed
	c.mu.Unlock()
	if verdict != nil {
		_ = conn.Close()
		return nil, verdict
	}
	return conn, nil
}

func (c *connRecorder) connect(ctx context.Context, network, addr string) (net.Conn, string, error) {
	if c.ips == nil {
		conn, err := dialer.DialContext(ctx, network, addr)
		return conn, "", err
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, "", err
	}
	var errs []string
	var target string
	for _, ip := range c.ips {
		target = net.JoinHostPort(ip.String(), port)
		conn, err := dialer.DialContext(ctx, network, target)
		if err == nil {
			return conn, target, nil
		}
		errs = append(errs, err.Error())
		if ctx.Err() != nil {
			break
		}
	}
	c.mu.Lock()
	c.dialed = target
	c.mu.Unlock()
	return nil, "", fmt.Errorf("%s", strings.Join(errs, "; "))
}

func (c *connRecorder) result() (ConnInfo, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.info, c.dialed
}
