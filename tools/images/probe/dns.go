package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// DNSResult is printed by "dns". NotFound is true for NXDOMAIN / no records,
// Timeout when no server answered in time.
//
// With --server the probe asks those servers itself: Server is the one whose
// answer is reported ("" when none answered), Rcode its response code
// (NOERROR, NXDOMAIN, SERVFAIL, REFUSED, NOTIMP, FORMERR, RCODE<n>; "" when
// none answered), Name the fully qualified name that answer is for (no
// trailing dot), Transport "udp" or "tcp", Tried every name queried in order.
// Without --server, Server is "system" (the pod's resolv.conf and /etc/hosts,
// as before), Rcode is "", Name is the name as given and Tried is empty.
type DNSResult struct {
	OK         bool     `json:"ok"`
	Addresses  []string `json:"addresses"`
	Error      string   `json:"error"`
	NotFound   bool     `json:"notFound"`
	Timeout    bool     `json:"timeout"`
	DurationMs int64    `json:"durationMs"`
	Server     string   `json:"server"`
	Rcode      string   `json:"rcode"`
	Name       string   `json:"name"`
	Transport  string   `json:"transport"`
	Tried      []string `json:"tried"`
	// LocalTarget: a --server's address is local to the probe's network
	// namespace (and was not given as a loopback address): it was not asked.
	LocalTarget bool `json:"localTarget"`
}

type dnsOpts struct {
	Name    string
	Type    string
	Timeout time.Duration
	DNS     resolveOpts
}

var dnsTypes = map[string]dnsmessage.Type{
	"A": dnsmessage.TypeA, "AAAA": dnsmessage.TypeAAAA, "SRV": dnsmessage.TypeSRV, "PTR": dnsmessage.TypePTR,
}

func (o *dnsOpts) validate(searchSet bool) error {
	if o.Name == "" {
		return errors.New("--name is required")
	}
	o.Type = strings.ToUpper(o.Type)
	if _, ok := dnsTypes[o.Type]; !ok {
		return errors.New("--type must be A, AAAA, SRV or PTR")
	}
	if o.Type == "PTR" {
		if _, err := netip.ParseAddr(o.Name); err != nil {
			return errors.New("--type PTR needs an IP address as --name")
		}
	} else if err := checkName(strings.TrimSuffix(o.Name, ".")); err != nil {
		return errors.New("--name " + strconv.Quote(o.Name) + ": " + err.Error())
	}
	if o.Timeout <= 0 {
		return errors.New("--timeout must be > 0")
	}
	return o.DNS.validate("server", searchSet)
}

// flagsSet reports whether any of the named flags was given.
func flagsSet(fs *flag.FlagSet, names ...string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		for _, n := range names {
			if f.Name == n {
				set = true
			}
		}
	})
	return set
}

func cmdDNS(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("dns", stderr)
	var o dnsOpts
	fs.StringVar(&o.Name, "name", "", "name to resolve (an IP address for PTR)")
	fs.StringVar(&o.Type, "type", "A", "A, AAAA, SRV or PTR")
	fs.DurationVar(&o.Timeout, "timeout", 3*time.Second, "overall timeout")
	dnsFlags(fs, "server", &o.DNS)
	if !parse(fs, args, stderr) {
		return exitUsage
	}
	if err := o.validate(flagsSet(fs, "search", "ndots")); err != nil {
		return usageErr(stderr, "dns", err.Error())
	}
	res := runDNS(context.Background(), o)
	return emit(stdout, res.OK, res)
}

func runDNS(ctx context.Context, o dnsOpts) DNSResult {
	if o.DNS.direct() {
		return probeDNSDirect(ctx, o)
	}
	return probeDNS(resolver, o.Name, o.Type, o.Timeout)
}

// probeDNSDirect asks o.DNS.Servers directly (see directLookup).
func probeDNSDirect(ctx context.Context, o dnsOpts) DNSResult {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	qtype := dnsTypes[o.Type]
	name, search := o.Name, o.DNS
	if o.Type == "PTR" {
		name, search.Search = reverseName(netip.MustParseAddr(o.Name)), nil
	}
	r := directLookup(ctx, search, name, qtype)
	res := lookupToResult(r)
	res.DurationMs = ms(time.Since(start))
	return res
}

func lookupToResult(r lookupResult) DNSResult {
	res := DNSResult{
		OK:          r.found(),
		Addresses:   r.Records,
		Error:       errString(r.Err),
		NotFound:    r.nxdomain() || r.nodata(),
		Timeout:     r.Timeout,
		Server:      r.Server,
		Rcode:       r.Rcode,
		Name:        r.Name,
		Transport:   r.Transport,
		Tried:       r.Tried,
		LocalTarget: r.Local,
	}
	if res.Addresses == nil {
		res.Addresses = []string{}
	}
	if res.Tried == nil {
		res.Tried = []string{}
	}
	return res
}

// resolver uses Go's pure resolver, which reads /etc/resolv.conf (nameserver,
// search, ndots, timeout) and /etc/hosts like the pod's own libc would. It is
// used only without --server / --dns-server (kept for compatibility).
var resolver = &net.Resolver{PreferGo: true}

// probeDNS resolves with the system resolver r.
func probeDNS(r *net.Resolver, name, qtype string, timeout time.Duration) DNSResult {
	res := DNSResult{Addresses: []string{}, Server: "system", Name: name, Tried: []string{}}
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

// resolveHost resolves host for http/tcp through the direct resolver: A, and
// AAAA when the name exists without A records. An IP literal is returned as
// is, with a nil DNS result.
func resolveHost(ctx context.Context, o resolveOpts, host string) ([]netip.Addr, *DNSResult) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, nil
	}
	start := time.Now()
	r := directLookup(ctx, o, host, dnsmessage.TypeA)
	if r.nodata() {
		if r6 := directLookup(ctx, o, host, dnsmessage.TypeAAAA); r6.found() {
			r = r6
		}
	}
	res := lookupToResult(r)
	res.DurationMs = ms(time.Since(start))
	var ips []netip.Addr
	for _, a := range r.Records {
		if ip, err := netip.ParseAddr(a); err == nil {
			ips = append(ips, ip)
		}
	}
	return ips, &res
}
