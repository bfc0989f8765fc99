package main

// A small authoritative DNS server for tests, on 127.0.0.1 over UDP and TCP
// (same port), built with the same dnsmessage package the probe uses.

import (
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

type dnsQuery struct {
	Name      string // lower case, no trailing dot
	Type      dnsmessage.Type
	Transport string
}

type fakeDNS struct {
	Addr string

	mu          sync.Mutex
	records     map[string][]dnsmessage.Resource // lower-case fqdn -> answers of every type
	rcodes      map[string]dnsmessage.RCode      // forced response code for a name ("*" for all)
	truncateUDP map[string]bool                  // answer these over UDP with TC set and no records
	spoofFirst  bool                             // send a wrong-ID answer before the real one
	queries     []dnsQuery
}

func newFakeDNS(t *testing.T) *fakeDNS {
	t.Helper()
	return newFakeDNSOn(t, "127.0.0.1")
}

// newFakeDNSOn serves on ip (UDP and TCP, same port).
func newFakeDNSOn(t *testing.T, ip string) *fakeDNS {
	t.Helper()
	f := &fakeDNS{records: map[string][]dnsmessage.Resource{}, rcodes: map[string]dnsmessage.RCode{}, truncateUDP: map[string]bool{}}
	var pc net.PacketConn
	var ln net.Listener
	for attempt := 0; ; attempt++ {
		var err error
		if pc, err = net.ListenPacket("udp", net.JoinHostPort(ip, "0")); err != nil {
			t.Fatal(err)
		}
		if ln, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			break
		}
		pc.Close()
		if attempt == 20 {
			t.Fatalf("no port free for both UDP and TCP: %v", err)
		}
	}
	f.Addr = pc.LocalAddr().String()
	t.Cleanup(func() { pc.Close(); ln.Close() })
	go f.serveUDP(pc)
	go f.serveTCP(ln)
	return f
}

// silentDNS returns the address of a UDP socket that never answers.
func silentDNS(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	return pc.LocalAddr().String()
}

func fqdn(name string) string { return strings.ToLower(strings.TrimSuffix(name, ".")) + "." }

func (f *fakeDNS) add(name string, typ dnsmessage.Type, body dnsmessage.ResourceBody) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := dnsmessage.MustNewName(fqdn(name))
	f.records[fqdn(name)] = append(f.records[fqdn(name)], dnsmessage.Resource{
		Header: dnsmessage.ResourceHeader{Name: n, Type: typ, Class: dnsmessage.ClassINET, TTL: 30},
		Body:   body,
	})
}

func (f *fakeDNS) A(name, ip string) {
	f.add(name, dnsmessage.TypeA, &dnsmessage.AResource{A: netip.MustParseAddr(ip).As4()})
}

func (f *fakeDNS) AAAA(name, ip string) {
	f.add(name, dnsmessage.TypeAAAA, &dnsmessage.AAAAResource{AAAA: netip.MustParseAddr(ip).As16()})
}

func (f *fakeDNS) SRV(name, target string, port uint16) {
	f.add(name, dnsmessage.TypeSRV, &dnsmessage.SRVResource{Priority: 10, Weight: 100, Port: port, Target: dnsmessage.MustNewName(fqdn(target))})
}

func (f *fakeDNS) PTR(name, target string) {
	f.add(name, dnsmessage.TypePTR, &dnsmessage.PTRResource{PTR: dnsmessage.MustNewName(fqdn(target))})
}

func (f *fakeDNS) Rcode(name string, code dnsmessage.RCode) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if name != "*" {
		name = fqdn(name)
	}
	f.rcodes[name] = code
}

func (f *fakeDNS) TruncateUDP(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.truncateUDP[fqdn(name)] = true
}

func (f *fakeDNS) SpoofFirst() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.spoofFirst = true
}

func (f *fakeDNS) Queries() []dnsQuery {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]dnsQuery(nil), f.queries...)
}

// QueriedNames lists the names asked, in order.
func (f *fakeDNS) QueriedNames() []string {
	var out []string
	for _, q := range f.Queries() {
		out = append(out, q.Name)
	}
	return out
}

func (f *fakeDNS) serveUDP(pc net.PacketConn) {
	buf := make([]byte, 65535)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		f.mu.Lock()
		spoof := f.spoofFirst
		f.mu.Unlock()
		if spoof {
			if bogus := f.answer(buf[:n], "udp", true); bogus != nil {
				_, _ = pc.WriteTo(bogus, from)
			}
		}
		if resp := f.answer(buf[:n], "udp", false); resp != nil {
			_, _ = pc.WriteTo(resp, from)
		}
	}
}

func (f *fakeDNS) serveTCP(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			var size [2]byte
			if _, err := io.ReadFull(c, size[:]); err != nil {
				return
			}
			q := make([]byte, binary.BigEndian.Uint16(size[:]))
			if _, err := io.ReadFull(c, q); err != nil {
				return
			}
			if resp := f.answer(q, "tcp", false); resp != nil {
				_, _ = c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(resp))), resp...))
			}
		}()
	}
}

// answer builds the response to query q. bogus: a wrong ID and a wrong
// address, as an off-path attacker or a stale answer would send.
func (f *fakeDNS) answer(q []byte, transport string, bogus bool) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(q)
	if err != nil {
		return nil
	}
	question, err := p.Question()
	if err != nil {
		return nil
	}
	name := strings.ToLower(question.Name.String())
	f.mu.Lock()
	defer f.mu.Unlock()
	if !bogus {
		f.queries = append(f.queries, dnsQuery{Name: strings.TrimSuffix(name, "."), Type: question.Type, Transport: transport})
	}
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired}
	var answers []dnsmessage.Resource
	all, exists := f.records[name]
	for _, rr := range all {
		if rr.Header.Type == question.Type {
			answers = append(answers, rr)
		}
	}
	switch code, forced := f.rcodes[name]; {
	case forced:
		rh.RCode, answers = code, nil
	case f.rcodes["*"] != 0:
		rh.RCode, answers = f.rcodes["*"], nil
	case !exists:
		rh.RCode = dnsmessage.RCodeNameError
	}
	if transport == "udp" && f.truncateUDP[name] {
		rh.Truncated, answers = true, nil
	}
	if bogus {
		rh.ID++
		answers = []dnsmessage.Resource{{
			Header: dnsmessage.ResourceHeader{Name: question.Name, Class: dnsmessage.ClassINET, TTL: 30},
			Body:   &dnsmessage.AResource{A: [4]byte{6, 6, 6, 6}},
		}}
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.EnableCompression()
	_ = b.StartQuestions()
	_ = b.Question(question)
	_ = b.StartAnswers()
	for _, rr := range answers {
		switch body := rr.Body.(type) {
		case *dnsmessage.AResource:
			_ = b.AResource(rr.Header, *body)
		case *dnsmessage.AAAAResource:
			_ = b.AAAAResource(rr.Header, *body)
		case *dnsmessage.SRVResource:
			_ = b.SRVResource(rr.Header, *body)
		case *dnsmessage.PTRResource:
			_ = b.PTRResource(rr.Header, *body)
		}
	}
	out, err := b.Finish()
	if err != nil {
		return nil
	}
	return out
}
