package main

// One DNS exchange on the wire: a query over UDP, again over TCP when the
// answer is truncated, and the parsing of the answer.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// exchange sends one query over UDP and repeats it over TCP when the answer is
// truncated. Answers whose ID or question do not match are ignored.
func exchange(ctx context.Context, server, fqdn string, qtype dnsmessage.Type) lookupResult {
	res := lookupResult{Server: server}
	q, id, err := buildQuery(fqdn, qtype)
	if err != nil {
		res.Err = err
		return res
	}
	msg, err := exchangeUDP(ctx, server, q, id, fqdn, qtype)
	res.Transport = "udp"
	if err == nil && msg.Header.Truncated {
		msg, err = exchangeTCP(ctx, server, q, id, fqdn, qtype)
		res.Transport = "tcp"
	}
	if err != nil {
		res.Err = err
		return res
	}
	res.Rcode = rcodeName(msg.Header.RCode)
	res.Records = records(msg, qtype)
	return res
}

func buildQuery(fqdn string, qtype dnsmessage.Type) ([]byte, uint16, error) {
	n, err := dnsmessage.NewName(fqdn)
	if err != nil {
		return nil, 0, fmt.Errorf("bad name %q: %v", fqdn, err)
	}
	id := uint16(rand.Uint32())
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: id, RecursionDesired: true})
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, 0, err
	}
	if err := b.Question(dnsmessage.Question{Name: n, Type: qtype, Class: dnsmessage.ClassINET}); err != nil {
		return nil, 0, fmt.Errorf("bad name %q: %v", fqdn, err)
	}
	q, err := b.Finish()
	return q, id, err
}

func deadlineOf(ctx context.Context) time.Time {
	if dl, ok := ctx.Deadline(); ok {
		return dl
	}
	return time.Time{}
}

func exchangeUDP(ctx context.Context, server string, q []byte, id uint16, fqdn string, qtype dnsmessage.Type) (*dnsmessage.Message, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", server)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if err := checkServerNotLocal(server, conn); err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	_ = conn.SetDeadline(deadlineOf(ctx))
	if _, err := conn.Write(q); err != nil {
		return nil, err
	}
	buf := make([]byte, 65535)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, err
		}
		if msg, ok := matchingAnswer(buf[:n], id, fqdn, qtype); ok {
			return msg, nil
		}
	}
}

func exchangeTCP(ctx context.Context, server string, q []byte, id uint16, fqdn string, qtype dnsmessage.Type) (*dnsmessage.Message, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", server)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if err := checkServerNotLocal(server, conn); err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	_ = conn.SetDeadline(deadlineOf(ctx))
	framed := binary.BigEndian.AppendUint16(make([]byte, 0, len(q)+2), uint16(len(q)))
	if _, err := conn.Write(append(framed, q...)); err != nil {
		return nil, err
	}
	for {
		var size [2]byte
		if _, err := io.ReadFull(conn, size[:]); err != nil {
			return nil, tcpErr(ctx, err)
		}
		buf := make([]byte, binary.BigEndian.Uint16(size[:]))
		if _, err := io.ReadFull(conn, buf); err != nil {
			return nil, tcpErr(ctx, err)
		}
		if msg, ok := matchingAnswer(buf, id, fqdn, qtype); ok {
			return msg, nil
		}
	}
}

// checkServerNotLocal refuses a server whose address this network namespace
// answers for itself (a learner can put the cluster DNS Service's IP on the
// pod's loopback and answer there), unless it was given as a loopback
// address. Nothing is sent to such a server.
func checkServerNotLocal(server string, conn net.Conn) error {
	host, _, _ := net.SplitHostPort(server)
	if _, err := judgeConn(host, conn.LocalAddr(), conn.RemoteAddr(), false); err != nil {
		var lt *localTargetError
		if errors.As(err, &lt) && strings.Contains(lt.msg, "is local to the source pod") {
			return &localTargetError{fmt.Sprintf("the DNS server address %s is local to the source pod (its network namespace answers for it)", host)}
		}
		return err
	}
	return nil
}

func tcpErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("the server closed the TCP connection without an answer")
	}
	return err
}

// matchingAnswer parses b and accepts it only as the response to our query.
func matchingAnswer(b []byte, id uint16, fqdn string, qtype dnsmessage.Type) (*dnsmessage.Message, bool) {
	var msg dnsmessage.Message
	if err := msg.Unpack(b); err != nil {
		// A truncated UDP answer may not parse past the header: take the header.
		var p dnsmessage.Parser
		h, herr := p.Start(b)
		if herr != nil || !h.Truncated {
			return nil, false
		}
		msg = dnsmessage.Message{Header: h}
		qs, qerr := p.AllQuestions()
		if qerr != nil {
			return nil, false
		}
		msg.Questions = qs
	}
	if !msg.Header.Response || msg.Header.ID != id || len(msg.Questions) != 1 {
		return nil, false
	}
	q := msg.Questions[0]
	if q.Type != qtype || q.Class != dnsmessage.ClassINET || !strings.EqualFold(q.Name.String(), fqdn) {
		return nil, false
	}
	return &msg, true
}

// records formats the answer records of the asked type, in answer order: IPs
// for A/AAAA, "target:port" for SRV, names for PTR (without trailing dots).
func records(msg *dnsmessage.Message, qtype dnsmessage.Type) []string {
	out := []string{}
	for _, rr := range msg.Answers {
		if rr.Header.Type != qtype {
			continue
		}
		switch body := rr.Body.(type) {
		case *dnsmessage.AResource:
			out = append(out, netip.AddrFrom4(body.A).String())
		case *dnsmessage.AAAAResource:
			out = append(out, netip.AddrFrom16(body.AAAA).String())
		case *dnsmessage.SRVResource:
			out = append(out, net.JoinHostPort(strings.TrimSuffix(body.Target.String(), "."), strconv.Itoa(int(body.Port))))
		case *dnsmessage.PTRResource:
			out = append(out, strings.TrimSuffix(body.PTR.String(), "."))
		}
	}
	return out
}

// reverseName is the in-addr.arpa / ip6.arpa name of ip (fully qualified).
func reverseName(ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is4() {
		b := ip.As4()
		return fmt.Sprintf("%d.%d.%d.%d.in-addr.arpa.", b[3], b[2], b[1], b[0])
	}
	b := ip.As16()
	var sb strings.Builder
	const hex = "0123456789abcdef"
	for i := len(b) - 1; i >= 0; i-- {
		sb.WriteByte(hex[b[i]&0xf])
		sb.WriteByte('.')
		sb.WriteByte(hex[b[i]>>4])
		sb.WriteByte('.')
	}
	sb.WriteString("ip6.arpa.")
	return sb.String()
}
