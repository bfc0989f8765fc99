package main

import (
	"context"
	"errors"
	"io"
	"net"
	"time"
)

// TCPResult is printed by "tcp". OK means the connection was established to
// a peer that is not the probe's own pod.
type TCPResult struct {
	OK           bool       `json:"ok"`
	RemoteAddr   string     `json:"remoteAddr"`
	LocalAddr    string     `json:"localAddr"`
	LocalTarget  bool       `json:"localTarget"`
	PeerIsSelf   bool       `json:"peerIsSelf"`
	ResolvedAddr string     `json:"resolvedAddr"`
	DNS          *DNSResult `json:"dns,omitempty"`
	Error        string     `json:"error"`
	DurationMs   int64      `json:"durationMs"`
}

type tcpOpts struct {
	Addr       string
	Timeout    time.Duration
	AllowLocal bool
	DNS        resolveOpts
}

func (o *tcpOpts) validate(searchSet bool) error {
	if o.Addr == "" {
		return errors.New("--addr is required")
	}
	if _, _, err := net.SplitHostPort(o.Addr); err != nil {
		return errors.New("--addr must be host:port: " + err.Error())
	}
	if o.Timeout <= 0 {
		return errors.New("--timeout must be > 0")
	}
	return o.DNS.validate("dns-server", searchSet)
}

func cmdTCP(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("tcp", stderr)
	var o tcpOpts
	fs.StringVar(&o.Addr, "addr", "", "host:port to connect to")
	fs.DurationVar(&o.Timeout, "timeout", 3*time.Second, "overall timeout (DNS included)")
	fs.BoolVar(&o.AllowLocal, "allow-local", false, "report, but do not fail on, a target local to the source pod")
	dnsFlags(fs, "dns-server", &o.DNS)
	if !parse(fs, args, stderr) {
		return exitUsage
	}
	if err := o.validate(flagsSet(fs, "search", "ndots")); err != nil {
		return usageErr(stderr, "tcp", err.Error())
	}
	res := probeTCP(context.Background(), o)
	return emit(stdout, res.OK, res)
}

func probeTCP(ctx context.Context, o tcpOpts) (res TCPResult) {
	start := time.Now()
	defer func() { res.DurationMs = ms(time.Since(start)) }()
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()

	host, _, _ := net.SplitHostPort(o.Addr)
	rec := &connRecorder{host: host, allowLocal: o.AllowLocal}
	if o.DNS.direct() {
		ips, dnsRes := resolveHost(ctx, o.DNS, host)
		res.DNS = dnsRes
		if len(ips) == 0 {
			res.Error = "resolving " + host + ": " + dnsRes.Error
			return res
		}
		rec.ips = ips
	}
	conn, err := rec.dial(ctx, "tcp", o.Addr)
	info, dialed := rec.result()
	res.LocalAddr, res.RemoteAddr, res.LocalTarget, res.PeerIsSelf = info.LocalAddr, info.RemoteAddr, info.LocalTarget, info.PeerIsSelf
	res.ResolvedAddr = dialed
	if err != nil {
		res.Error = err.Error()
		return res
	}
	_ = conn.Close()
	res.OK = true
	return res
}
