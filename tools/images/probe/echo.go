package main

// The echo server ("hold --listen") and its client ("echo"). labrun-owned
// probe pods on every node serve GET /labrun/echo?nonce=N; a probe in another
// pod asks with a fresh nonce and checks that the answer carries it, so the
// answer provably came from the labrun pod (its hostname is the pod's name)
// and not from anything else that answers on that address.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

const (
	echoPath     = "/labrun/echo"
	maxNonceLen  = 256
	echoMaxBytes = 65536
)

// EchoReply is the server's JSON answer.
type EchoReply struct {
	Nonce    string `json:"nonce"`
	Peer     string `json:"peer"`
	Hostname string `json:"hostname"`
	PodIP    string `json:"podIP"`
	Version  string `json:"version"`
}

// echoHandler serves GET /labrun/echo?nonce=N. Anything else is 404/405/400
// with a JSON {"error": ...}.
func echoHandler() http.Handler {
	hostname, _ := os.Hostname()
	podIP := os.Getenv("POD_IP")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		fail := func(code int, msg string) {
			w.WriteHeader(code)
			_ = writeLine(w, map[string]string{"error": msg})
		}
		switch {
		case r.URL.Path != echoPath:
			fail(http.StatusNotFound, "not found: the echo is at "+echoPath)
		case r.Method != http.MethodGet:
			fail(http.StatusMethodNotAllowed, "GET only")
		default:
			nonce := r.URL.Query().Get("nonce")
			if nonce == "" || len(nonce) > maxNonceLen {
				fail(http.StatusBadRequest, fmt.Sprintf("nonce is required (1-%d bytes)", maxNonceLen))
				return
			}
			_ = writeLine(w, EchoReply{Nonce: nonce, Peer: r.RemoteAddr, Hostname: hostname, PodIP: podIP, Version: version})
		}
	})
}

// EchoResult is printed by "echo". OK means: HTTP 200 with a readable echo
// reply, the nonce echoed back, the hostname as expected (when
// --expect-hostname is given) and a peer that is not the probe's own pod.
type EchoResult struct {
	OK               bool   `json:"ok"`
	Status           int    `json:"status"`
	URL              string `json:"url"`
	Nonce            string `json:"nonce"`
	NonceMatch       bool   `json:"nonceMatch"`
	Hostname         string `json:"hostname"`
	PodIP            string `json:"podIP"`
	Peer             string `json:"peer"`
	PeerMatchesLocal bool   `json:"peerMatchesLocal"`
	RemoteAddr       string `json:"remoteAddr"`
	LocalAddr        string `json:"localAddr"`
	LocalTarget      bool   `json:"localTarget"`
	PeerIsSelf       bool   `json:"peerIsSelf"`
	Error            string `json:"error"`
	DurationMs       int64  `json:"durationMs"`
}

type echoOpts struct {
	URL            string
	Nonce          string
	ExpectHostname string
	Timeout        time.Duration
	AllowLocal     bool
}

func (o *echoOpts) validate() error {
	if o.URL == "" {
		return errors.New("--url is required")
	}
	u, err := url.Parse(o.URL)
	if err != nil || u.Scheme != "http" || u.Hostname() == "" {
		return errors.New("--url must be http://HOST:PORT[/path]")
	}
	if len(o.Nonce) > maxNonceLen {
		return fmt.Errorf("--nonce must be at most %d bytes", maxNonceLen)
	}
	if o.Timeout <= 0 {
		return errors.New("--timeout must be > 0")
	}
	return nil
}

// echoURL is base with path /labrun/echo when base has none, and the nonce
// set as the query parameter.
func echoURL(base, nonce string) string {
	u, _ := url.Parse(base)
	if u.Path == "" || u.Path == "/" {
		u.Path = echoPath
	}
	q := u.Query()
	q.Set("nonce", nonce)
	u.RawQuery = q.Encode()
	return u.String()
}

func newNonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func cmdEcho(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("echo", stderr)
	var o echoOpts
	fs.StringVar(&o.URL, "url", "", "the echo server, http://HOST:PORT (path defaults to "+echoPath+")")
	fs.StringVar(&o.Nonce, "nonce", "", "nonce the server must echo (default: 32 random hex digits)")
	fs.StringVar(&o.ExpectHostname, "expect-hostname", "", "fail unless the server reports this hostname (its pod name)")
	fs.DurationVar(&o.Timeout, "timeout", 3*time.Second, "overall timeout")
	fs.BoolVar(&o.AllowLocal, "allow-local", false, "report, but do not fail on, a server local to the source pod")
	if !parse(fs, args, stderr) {
		return exitUsage
	}
	if err := o.validate(); err != nil {
		return usageErr(stderr, "echo", err.Error())
	}
	res := probeEcho(context.Background(), o)
	return emit(stdout, res.OK, res)
}

func probeEcho(ctx context.Context, o echoOpts) (res EchoResult) {
	start := time.Now()
	defer func() { res.DurationMs = ms(time.Since(start)) }()
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	if o.Nonce == "" {
		o.Nonce = newNonce()
	}
	res.Nonce = o.Nonce
	res.URL = echoURL(o.URL, o.Nonce)
	u, _ := url.Parse(res.URL)
	rec := &connRecorder{host: u.Hostname(), allowLocal: o.AllowLocal}
	body, status, _, err := httpGet(ctx, rec, res.URL, echoMaxBytes, false)
	info, _ := rec.result()
	res.LocalAddr, res.RemoteAddr, res.LocalTarget, res.PeerIsSelf = info.LocalAddr, info.RemoteAddr, info.LocalTarget, info.PeerIsSelf
	res.Status = status
	if err != nil {
		res.Error = err.Error()
		return res
	}
	if status != http.StatusOK {
		res.Error = fmt.Sprintf("the echo server answered HTTP %d: %s", status, oneLine(body, 200))
		return res
	}
	var reply EchoReply
	if err := json.Unmarshal([]byte(body), &reply); err != nil {
		res.Error = "the answer is not an echo reply: " + oneLine(body, 200)
		return res
	}
	res.Hostname, res.PodIP, res.Peer = reply.Hostname, reply.PodIP, reply.Peer
	res.NonceMatch = reply.Nonce == o.Nonce
	res.PeerMatchesLocal = reply.Peer != "" && reply.Peer == info.LocalAddr
	switch {
	case !res.NonceMatch:
		res.Error = fmt.Sprintf("the echo carried nonce %q, not %q: another server answered", reply.Nonce, o.Nonce)
	case o.ExpectHostname != "" && reply.Hostname != o.ExpectHostname:
		res.Error = fmt.Sprintf("the echo came from %q, not %q", reply.Hostname, o.ExpectHostname)
	default:
		res.OK = true
	}
	return res
}

// oneLine clips s to n bytes on one line, for error messages.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
