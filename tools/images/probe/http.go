package main

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// HTTPResult is printed by "http". OK means an HTTP response was received
// (any status: the probe tests reachability; Status tells what answered) from
// a peer that is not the probe's own pod. ResolvedAddr is the IP:port dialed
// after a --dns-server lookup ("" without --dns-server); DNS is that lookup
// (absent without --dns-server or when the URL's host is an IP).
type HTTPResult struct {
	OK           bool       `json:"ok"`
	Status       int        `json:"status"`
	Body         string     `json:"body"`
	Truncated    bool       `json:"truncated"`
	RemoteAddr   string     `json:"remoteAddr"`
	LocalAddr    string     `json:"localAddr"`
	LocalTarget  bool       `json:"localTarget"`
	PeerIsSelf   bool       `json:"peerIsSelf"`
	ResolvedAddr string     `json:"resolvedAddr"`
	DNS          *DNSResult `json:"dns,omitempty"`
	Error        string     `json:"error"`
	DurationMs   int64      `json:"durationMs"`
}

type httpOpts struct {
	URL        string
	Timeout    time.Duration
	MaxBody    int64
	Insecure   bool
	AllowLocal bool
	DNS        resolveOpts
}

func (o *httpOpts) validate(searchSet bool) error {
	if o.URL == "" {
		return errors.New("--url is required")
	}
	if !strings.HasPrefix(o.URL, "http://") && !strings.HasPrefix(o.URL, "https://") {
		return errors.New("--url must start with http:// or https://")
	}
	u, err := url.Parse(o.URL)
	if err != nil || u.Hostname() == "" {
		return errors.New("--url is not a valid URL with a host")
	}
	if o.Timeout <= 0 || o.MaxBody < 0 {
		return errors.New("--timeout must be > 0 and --max-body >= 0")
	}
	return o.DNS.validate("dns-server", searchSet)
}

func cmdHTTP(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("http", stderr)
	var o httpOpts
	fs.StringVar(&o.URL, "url", "", "URL to GET (http:// or https://)")
	fs.DurationVar(&o.Timeout, "timeout", 3*time.Second, "overall timeout (DNS included)")
	fs.Int64Var(&o.MaxBody, "max-body", 65536, "bytes of body to return")
	fs.BoolVar(&o.Insecure, "insecure", false, "skip TLS certificate verification")
	fs.BoolVar(&o.AllowLocal, "allow-local", false, "report, but do not fail on, a target local to the source pod")
	dnsFlags(fs, "dns-server", &o.DNS)
	if !parse(fs, args, stderr) {
		return exitUsage
	}
	if err := o.validate(flagsSet(fs, "search", "ndots")); err != nil {
		return usageErr(stderr, "http", err.Error())
	}
	res := probeHTTP(context.Background(), o)
	return emit(stdout, res.OK, res)
}

func probeHTTP(ctx context.Context, o httpOpts) (res HTTPResult) {
	start := time.Now()
	defer func() { res.DurationMs = ms(time.Since(start)) }()
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()

	u, err := url.Parse(o.URL)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	rec := &connRecorder{host: u.Hostname(), allowLocal: o.AllowLocal}
	if o.DNS.direct() {
		ips, dnsRes := resolveHost(ctx, o.DNS, u.Hostname())
		res.DNS = dnsRes
		if len(ips) == 0 {
			res.Error = "resolving " + u.Hostname() + ": " + dnsRes.Error
			return res
		}
		rec.ips = ips
	}
	body, status, truncated, err := httpGet(ctx, rec, o.URL, o.MaxBody, o.Insecure)
	info, dialed := rec.result()
	res.LocalAddr, res.RemoteAddr, res.LocalTarget, res.PeerIsSelf = info.LocalAddr, info.RemoteAddr, info.LocalTarget, info.PeerIsSelf
	res.ResolvedAddr = dialed
	res.Status, res.Body, res.Truncated = status, body, truncated
	res.OK = status > 0
	res.Error = errString(err)
	return res
}

// httpGet GETs rawURL through rec's dialer: no proxy, no keep-alive, no
// redirects followed. status is 0 when no response arrived; err may be set
// with a status when reading the body failed.
func httpGet(ctx context.Context, rec *connRecorder, rawURL string, maxBody int64, insecure bool) (body string, status int, truncated bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return "", 0, false, err
	}
	req.Header.Set("User-Agent", "labrun-probe/"+version)
	client := &http.Client{
		Transport: &http.Transport{
			Proxy:             nil, // never use a proxy: we probe the pod's own network path
			DialContext:       rec.dial,
			DisableKeepAlives: true,
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: insecure}, //nolint:gosec // opt-in flag
		},
		// report redirects instead of following them
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", 0, false, cleanErr(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if int64(len(b)) > maxBody {
		b, truncated = b[:maxBody], true
	}
	if err != nil {
		err = errors.New("reading body: " + err.Error())
	}
	return string(b), resp.StatusCode, truncated, err
}

// cleanErr unwraps a local-target verdict from the url.Error and the dial
// wrapping around it, so the message is the verdict itself.
func cleanErr(err error) error {
	var lt *localTargetError
	if errors.As(err, &lt) {
		return lt
	}
	return err
}
