// Command labrun-probe is the network probe labrun runs as an ephemeral
// container in a learner's pod (it shares the pod's network namespace, so what
// it sees is what the pod sees). Every probe prints exactly one JSON line on
// stdout and exits 0 when the probe succeeded, 1 when it failed and 2 on a
// usage error.
//
//	labrun-probe http --url U [--timeout 3s] [--max-body 65536] [--insecure]
//	labrun-probe dns  --name N [--type A|AAAA|SRV|PTR] [--timeout 3s]
//	labrun-probe tcp  --addr host:port [--timeout 3s]
//	labrun-probe hold [--max 600s]   # idle as PID 1 until SIGTERM/SIGINT or --max
//	labrun-probe stop                # send SIGTERM to PID 1 (ends a hold)
//	labrun-probe version
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

var version = "dev"

const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: labrun-probe <command> [flags]
commands:
  http  --url U [--timeout 3s] [--max-body 65536] [--insecure]
  dns   --name N [--type A|AAAA|SRV|PTR] [--timeout 3s]
  tcp   --addr host:port [--timeout 3s]
  hold  [--max 600s]
  stop
  version
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "http":
		return cmdHTTP(rest, stdout, stderr)
	case "dns":
		return cmdDNS(rest, stdout, stderr)
	case "tcp":
		return cmdTCP(rest, stdout, stderr)
	case "hold":
		return cmdHold(rest, stdout, stderr)
	case "stop":
		return cmdStop(rest, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, version)
		return exitOK
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "labrun-probe: unknown command %q\n%s", cmd, usage)
		return exitUsage
	}
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse parses flags and rejects positional arguments.
func parse(fs *flag.FlagSet, args []string, stderr io.Writer) bool {
	if err := fs.Parse(args); err != nil {
		return false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "labrun-probe %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return false
	}
	return true
}

func usageErr(stderr io.Writer, cmd, msg string) int {
	fmt.Fprintf(stderr, "labrun-probe %s: %s\n", cmd, msg)
	return exitUsage
}

// emit writes v as one JSON line and maps ok to the exit code.
func emit(stdout io.Writer, ok bool, v any) int {
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return exitFail
	}
	if ok {
		return exitOK
	}
	return exitFail
}

func ms(d time.Duration) int64 { return d.Milliseconds() }

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// ---------------------------------------------------------------------------
// http

// HTTPResult is printed by "http". OK means an HTTP response was received
// (any status: the probe tests reachability; Status tells what answered).
type HTTPResult struct {
	OK         bool   `json:"ok"`
	Status     int    `json:"status"`
	Body       string `json:"body"`
	Truncated  bool   `json:"truncated"`
	RemoteAddr string `json:"remoteAddr"`
	Error      string `json:"error"`
	DurationMs int64  `json:"durationMs"`
}

func cmdHTTP(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("http", stderr)
	url := fs.String("url", "", "URL to GET (http:// or https://)")
	timeout := fs.Duration("timeout", 3*time.Second, "overall timeout")
	maxBody := fs.Int64("max-body", 65536, "bytes of body to return")
	insecure := fs.Bool("insecure", false, "skip TLS certificate verification")
	if !parse(fs, args, stderr) {
		return exitUsage
	}
	if *url == "" {
		return usageErr(stderr, "http", "--url is required")
	}
	if !strings.HasPrefix(*url, "http://") && !strings.HasPrefix(*url, "https://") {
		return usageErr(stderr, "http", "--url must start with http:// or https://")
	}
	if *timeout <= 0 || *maxBody < 0 {
		return usageErr(stderr, "http", "--timeout must be > 0 and --max-body >= 0")
	}
	res := probeHTTP(*url, *timeout, *maxBody, *insecure)
	return emit(stdout, res.OK, res)
}

func probeHTTP(url string, timeout time.Duration, maxBody int64, insecure bool) HTTPResult {
	var res HTTPResult
	start := time.Now()
	defer func() { res.DurationMs = ms(time.Since(start)) }()

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		res.RemoteAddr = info.Conn.RemoteAddr().String()
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodGet, url, nil)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	req.Header.Set("User-Agent", "labrun-probe/"+version)
	client := &http.Client{
		Transport: &http.Transport{
			Proxy:             nil, // never use a proxy: we probe the pod's own network path
			DisableKeepAlives: true,
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: insecure}, //nolint:gosec // opt-in flag
		},
		// report redirects instead of following them
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	defer resp.Body.Close()
	res.OK = true
	res.Status = resp.StatusCode
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if int64(len(body)) > maxBody {
		body, res.Truncated = body[:maxBody], true
	}
	res.Body = string(body)
	if err != nil {
		res.Error = "reading body: " + err.Error()
	}
	return res
}

// ---------------------------------------------------------------------------
// dns

// DNSResult is printed by "dns". NotFound is true for NXDOMAIN / no records,
// Timeout when no server answered in time.
type DNSResult struct {
	OK         bool     `json:"ok"`
	Addresses  []string `json:"addresses"`
	Error      string   `json:"error"`
	NotFound   bool     `json:"notFound"`
	Timeout    bool     `json:"timeout"`
	DurationMs int64    `json:"durationMs"`
}

// resolver uses Go's pure resolver, which reads /etc/resolv.conf (nameserver,
// search, ndots, timeout) and /etc/hosts like the pod's own libc would.
var resolver = &net.Resolver{PreferGo: true}

func cmdDNS(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("dns", stderr)
	name := fs.String("name", "", "name to resolve (an IP address for PTR)")
	qtype := fs.String("type", "A", "A, AAAA, SRV or PTR")
	timeout := fs.Duration("timeout", 3*time.Second, "overall timeout")
	if !parse(fs, args, stderr) {
		return exitUsage
	}
	if *name == "" {
		return usageErr(stderr, "dns", "--name is required")
	}
	t := strings.ToUpper(*qtype)
	switch t {
	case "A", "AAAA", "SRV":
	case "PTR":
		if net.ParseIP(*name) == nil {
			return usageErr(stderr, "dns", "--type PTR needs an IP address as --name")
		}
	default:
		return usageErr(stderr, "dns", "--type must be A, AAAA, SRV or PTR")
	}
	if *timeout <= 0 {
		return usageErr(stderr, "dns", "--timeout must be > 0")
	}
	res := probeDNS(resolver, *name, t, *timeout)
	return emit(stdout, res.OK, res)
}

func probeDNS(r *net.Resolver, name, qtype string, timeout time.Duration) DNSResult {
	res := DNSResult{Addresses: []string{}}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	var err error
	switch qtype {
	case "A", "AAAA":
		network := "ip4"
		if qtype == "AAAA" {
			network = "ip6"
		}
		var ips []net.IP
		ips, err = r.LookupIP(ctx, network, name)
		for _, ip := range ips {
			res.Addresses = append(res.Addresses, ip.String())
		}
	case "SRV":
		var srvs []*net.SRV
		_, srvs, err = r.LookupSRV(ctx, "", "", name)
		for _, s := range srvs {
			res.Addresses = append(res.Addresses, net.JoinHostPort(strings.TrimSuffix(s.Target, "."), strconv.Itoa(int(s.Port))))
		}
	case "PTR":
		var names []string
		names, err = r.LookupAddr(ctx, name)
		for _, n := range names {
			res.Addresses = append(res.Addresses, strings.TrimSuffix(n, "."))
		}
	}
	res.DurationMs = ms(time.Since(start))
	if err != nil {
		res.Error = err.Error()
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) {
			res.NotFound = dnsErr.IsNotFound
			res.Timeout = dnsErr.IsTimeout
		}
		if errors.Is(err, context.DeadlineExceeded) {
			res.Timeout = true
		}
		return res
	}
	res.OK = len(res.Addresses) > 0
	if !res.OK {
		res.NotFound = true
		res.Error = "no " + qtype + " records for " + name
	}
	return res
}

// ---------------------------------------------------------------------------
// tcp

// TCPResult is printed by "tcp".
type TCPResult struct {
	OK         bool   `json:"ok"`
	RemoteAddr string `json:"remoteAddr"`
	Error      string `json:"error"`
	DurationMs int64  `json:"durationMs"`
}

func cmdTCP(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("tcp", stderr)
	addr := fs.String("addr", "", "host:port to connect to")
	timeout := fs.Duration("timeout", 3*time.Second, "connect timeout")
	if !parse(fs, args, stderr) {
		return exitUsage
	}
	if *addr == "" {
		return usageErr(stderr, "tcp", "--addr is required")
	}
	if _, _, err := net.SplitHostPort(*addr); err != nil {
		return usageErr(stderr, "tcp", "--addr must be host:port: "+err.Error())
	}
	if *timeout <= 0 {
		return usageErr(stderr, "tcp", "--timeout must be > 0")
	}
	res := probeTCP(*addr, *timeout)
	return emit(stdout, res.OK, res)
}

func probeTCP(addr string, timeout time.Duration) TCPResult {
	var res TCPResult
	start := time.Now()
	d := net.Dialer{Timeout: timeout, Resolver: resolver}
	conn, err := d.Dial("tcp", addr)
	res.DurationMs = ms(time.Since(start))
	if err != nil {
		res.Error = err.Error()
		return res
	}
	res.RemoteAddr = conn.RemoteAddr().String()
	_ = conn.Close()
	res.OK = true
	return res
}

// ---------------------------------------------------------------------------
// hold / stop

// HoldResult is printed by "hold" when it ends.
type HoldResult struct {
	OK         bool   `json:"ok"`
	Reason     string `json:"reason"` // "signal" or "max"
	Signal     string `json:"signal,omitempty"`
	DurationMs int64  `json:"durationMs"`
}

func cmdHold(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("hold", stderr)
	maxWait := fs.Duration("max", 600*time.Second, "give up after this long")
	if !parse(fs, args, stderr) {
		return exitUsage
	}
	if *maxWait <= 0 {
		return usageErr(stderr, "hold", "--max must be > 0")
	}
	// As PID 1 the kernel drops signals that have no handler, so handling
	// them explicitly is what makes "stop" and kubelet's SIGTERM work.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	res := hold(sigs, *maxWait)
	return emit(stdout, res.OK, res)
}

func hold(sigs <-chan os.Signal, maxWait time.Duration) HoldResult {
	start := time.Now()
	timer := time.NewTimer(maxWait)
	defer timer.Stop()
	select {
	case s := <-sigs:
		return HoldResult{OK: true, Reason: "signal", Signal: s.String(), DurationMs: ms(time.Since(start))}
	case <-timer.C:
		return HoldResult{OK: true, Reason: "max", DurationMs: ms(time.Since(start))}
	}
}

// StopResult is printed by "stop".
type StopResult struct {
	OK    bool   `json:"ok"`
	Error string `json:"error"`
}

// killPID1 is a variable so that tests do not signal a real PID 1.
var killPID1 = func() error { return syscall.Kill(1, syscall.SIGTERM) }

func cmdStop(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("stop", stderr)
	if !parse(fs, args, stderr) {
		return exitUsage
	}
	err := killPID1()
	return emit(stdout, err == nil, StopResult{OK: err == nil, Error: errString(err)})
}
