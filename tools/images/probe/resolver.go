package main

// A DNS client that asks the servers it is given and nothing else: no
// /etc/hosts, no nsswitch, no /etc/resolv.conf (a learner can edit all three
// inside a pod, or set hostAliases/dnsConfig). labrun passes the cluster DNS
// Service and the search list the scenario implies.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

const (
	defaultNdots = 1  // resolv.conf's default
	maxNdots     = 15 // glibc's cap
	dnsRounds    = 2  // passes over the server list (resolv.conf "attempts:2")
	minTry       = 100 * time.Millisecond
)

// resolveOpts selects the resolver: Servers empty means the system resolver.
type resolveOpts struct {
	Servers []string // HOST:PORT, normalised by validate
	Search  []string
	Ndots   int
}

func (o resolveOpts) direct() bool { return len(o.Servers) > 0 }

// validate normalises the servers ("10.96.0.10" -> "10.96.0.10:53") and
// checks the search list. searchSet says whether --search/--ndots were given.
func (o *resolveOpts) validate(serverFlag string, searchSet bool) error {
	if !o.direct() {
		if searchSet {
			return fmt.Errorf("--search and --ndots apply only with --%s", serverFlag)
		}
		return nil
	}
	for i, s := range o.Servers {
		n, err := normalizeServer(s)
		if err != nil {
			return fmt.Errorf("--%s %q: %v", serverFlag, s, err)
		}
		o.Servers[i] = n
	}
	for _, d := range o.Search {
		if err := checkName(strings.TrimSuffix(d, ".")); err != nil {
			return fmt.Errorf("--search %q: %v", d, err)
		}
	}
	if o.Ndots < 0 || o.Ndots > maxNdots {
		return fmt.Errorf("--ndots must be between 0 and %d", maxNdots)
	}
	return nil
}

// normalizeServer accepts IP, IP:PORT, [IPv6] or [IPv6]:PORT. A server must be
// an address: resolving its name would defeat the point.
func normalizeServer(s string) (string, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		if ap.Port() == 0 {
			return "", errors.New("port must be 1-65535")
		}
		return ap.String(), nil
	}
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return netip.AddrPortFrom(a, 53).String(), nil
	}
	return "", errors.New("want an IP address with an optional :PORT (a server name cannot be resolved without a server)")
}

// checkName rejects names that cannot be put in a DNS question.
func checkName(name string) error {
	if name == "" {
		return errors.New("empty name")
	}
	if len(name) > 253 {
		return errors.New("name longer than 253 characters")
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" {
			return errors.New("empty label (two dots in a row, or a leading dot)")
		}
		if len(label) > 63 {
			return fmt.Errorf("label %q longer than 63 characters", label)
		}
	}
	return nil
}

// candidates applies the resolv.conf search rule: a name ending in "." is
// tried as is only; a name with at least ndots dots is tried as is first, then
// with each search domain; otherwise with each search domain, then as is.
// Every candidate is returned fully qualified (with its trailing dot).
func candidates(name string, search []string, ndots int) []string {
	if strings.HasSuffix(name, ".") {
		return []string{name}
	}
	var withSearch []string
	for _, d := range search {
		withSearch = append(withSearch, name+"."+strings.TrimSuffix(d, ".")+".")
	}
	if strings.Count(name, ".") >= ndots {
		return append([]string{name + "."}, withSearch...)
	}
	return append(withSearch, name+".")
}

// lookupResult is what a direct lookup found. Server is the server whose
// answer is reported ("" when none answered), Name the candidate it answered
// for (fully qualified, without the trailing dot).
type lookupResult struct {
	Server    string
	Rcode     string
	Name      string
	Transport string
	Records   []string
	Tried     []string
	Timeout   bool
	Local     bool // a server was skipped: its address is local to this network namespace
	Err       error
}

// found reports a NOERROR answer holding records of the asked type.
func (r lookupResult) found() bool {
	return r.Rcode == "NOERROR" && len(r.Records) > 0
}

// nodata reports a NOERROR answer without records of the asked type.
func (r lookupResult) nodata() bool {
	return r.Rcode == "NOERROR" && len(r.Records) == 0
}

func (r lookupResult) nxdomain() bool {
	return r.Rcode == "NXDOMAIN"
}

var rcodeNames = map[dnsmessage.RCode]string{
	dnsmessage.RCodeSuccess:        "NOERROR",
	dnsmessage.RCodeFormatError:    "FORMERR",
	dnsmessage.RCodeServerFailure:  "SERVFAIL",
	dnsmessage.RCodeNameError:      "NXDOMAIN",
	dnsmessage.RCodeNotImplemented: "NOTIMP",
	dnsmessage.RCodeRefused:        "REFUSED",
}

func rcodeName(c dnsmessage.RCode) string {
	if n, ok := rcodeNames[c]; ok {
		return n
	}
	return "RCODE" + strconv.Itoa(int(c))
}

// directLookup resolves name (already an in-addr.arpa/ip6.arpa name for PTR)
// with the search rule, asking the servers in order. The search goes on to the
// next candidate only on NXDOMAIN or NOERROR without data; any other outcome
// (records, SERVFAIL/REFUSED from every server, no answer) ends it, so a
// broken server is never hidden behind a later candidate's NXDOMAIN. When no
// candidate has records, the first NOERROR-without-data is reported, else the
// last NXDOMAIN (as glibc does).
func directLookup(ctx context.Context, o resolveOpts, name string, qtype dnsmessage.Type) lookupResult {
	var tried []string
	var nodata *lookupResult
	var last lookupResult
	for _, fqdn := range candidates(name, o.Search, o.Ndots) {
		tried = append(tried, strings.TrimSuffix(fqdn, "."))
		last = askServers(ctx, o.Servers, fqdn, qtype)
		if last.nodata() && nodata == nil {
			r := last
			nodata = &r
		}
		if !last.nodata() && !last.nxdomain() {
			break
		}
	}
	if !last.found() && nodata != nil {
		last = *nodata
	}
	last.Tried = tried
	if last.Err == nil && !last.found() {
		what := typeName(qtype)
		if last.nodata() {
			last.Err = fmt.Errorf("no %s records for %s (NOERROR from %s)", what, last.Name, last.Server)
		} else {
			last.Err = fmt.Errorf("%s %s: %s from %s", what, last.Name, last.Rcode, last.Server)
		}
	}
	return last
}

// askServers asks each server in turn (dnsRounds passes) until one answers
// NOERROR or NXDOMAIN. Each try gets an equal share of the time left.
func askServers(ctx context.Context, servers []string, fqdn string, qtype dnsmessage.Type) lookupResult {
	name := strings.TrimSuffix(fqdn, ".")
	perTry := minTry
	if dl, ok := ctx.Deadline(); ok {
		if share := time.Until(dl) / time.Duration(dnsRounds*len(servers)); share > perTry {
			perTry = share
		}
	}
	var answered *lookupResult
	var errs []string
	timedOut, local := false, false
	for round := 0; round < dnsRounds; round++ {
		for _, server := range servers {
			if ctx.Err() != nil {
				break
			}
			tctx, cancel := context.WithTimeout(ctx, perTry)
			r := exchange(tctx, server, fqdn, qtype)
			cancel()
			r.Name = name
			if r.Err != nil {
				var lt *localTargetError
				if errors.As(r.Err, &lt) {
					local = true
				}
				if isTimeout(r.Err) {
					timedOut = true
					r.Err = fmt.Errorf("%s: no answer within %s", server, perTry.Round(time.Millisecond))
				}
				errs = appendOnce(errs, r.Err.Error())
				continue
			}
			r.Local = local
			if r.Rcode == "NOERROR" || r.Rcode == "NXDOMAIN" {
				return r
			}
			answered = &r // SERVFAIL, REFUSED, ...: try the next server
		}
	}
	if answered != nil {
		return *answered
	}
	if ctx.Err() != nil {
		timedOut = true
		errs = appendOnce(errs, "out of time")
	}
	return lookupResult{Name: name, Timeout: timedOut, Local: local, Err: fmt.Errorf("%s %s: %s", typeName(qtype), name, strings.Join(errs, "; "))}
}

func appendOnce(list []string, s string) []string {
	for _, v := range list {
		if v == s {
			return list
		}
	}
	return append(list, s)
}

func typeName(t dnsmessage.Type) string {
	switch t {
	case dnsmessage.TypeA:
		return "A"
	case dnsmessage.TypeAAAA:
		return "AAAA"
	case dnsmessage.TypeSRV:
		return "SRV"
	case dnsmessage.TypePTR:
		return "PTR"
	}
	return t.String()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
