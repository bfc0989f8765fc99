package main

// "batch" runs many probes in one exec: labrun sends every probe of a grade
// for one source pod at once instead of one exec per probe.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"
)

const (
	defaultConcurrency = 16
	maxConcurrency     = 64
	defaultTimeoutMs   = 3000
	maxTimeoutMs       = 600_000
	maxSpecBytes       = 16 << 20
)

// batchItem is one probe of a spec: "id" and "kind" plus the options of that
// kind's command in camelCase ("timeoutMs" instead of --timeout).
type batchItem struct {
	ID             string    `json:"id"`
	Kind           string    `json:"kind"`
	TimeoutMs      *int64    `json:"timeoutMs"`
	URL            string    `json:"url"`
	MaxBody        *int64    `json:"maxBody"`
	Insecure       bool      `json:"insecure"`
	AllowLocal     bool      `json:"allowLocal"`
	DNSServer      jsonList  `json:"dnsServer"`
	Search         *jsonList `json:"search"`
	Ndots          *int      `json:"ndots"`
	Name           string    `json:"name"`
	Type           string    `json:"type"`
	Server         jsonList  `json:"server"`
	Addr           string    `json:"addr"`
	Nonce          string    `json:"nonce"`
	ExpectHostname string    `json:"expectHostname"`
}

// batchFields lists the fields each kind accepts besides id, kind and timeoutMs.
var batchFields = map[string][]string{
	"http": {"url", "maxBody", "insecure", "allowLocal", "dnsServer", "search", "ndots"},
	"dns":  {"name", "type", "server", "search", "ndots"},
	"tcp":  {"addr", "allowLocal", "dnsServer", "search", "ndots"},
	"echo": {"url", "nonce", "expectHostname", "allowLocal"},
}

// jsonList is a string list given as a JSON array or a comma-separated string.
type jsonList []string

func (l *jsonList) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*l = splitList(s)
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return errors.New("want a string or an array of strings")
	}
	*l = nil
	for _, item := range list {
		*l = append(*l, splitList(item)...)
	}
	return nil
}

// batchProbe is a validated item, ready to run.
type batchProbe struct {
	id, kind string
	run      func(ctx context.Context) (ok bool, result any)
}

func cmdBatch(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("batch", stderr)
	spec := fs.String("spec", "", "JSON array of probes, or - to read it from stdin")
	concurrency := fs.Int("concurrency", defaultConcurrency, "probes run at once")
	if !parse(fs, args, stderr) {
		return exitUsage
	}
	if *concurrency < 1 || *concurrency > maxConcurrency {
		return usageErr(stderr, "batch", fmt.Sprintf("--concurrency must be 1-%d", maxConcurrency))
	}
	raw := []byte(*spec)
	switch *spec {
	case "":
		return usageErr(stderr, "batch", "--spec is required (a JSON array, or - for stdin)")
	case "-":
		b, err := io.ReadAll(io.LimitReader(stdin, maxSpecBytes+1))
		if err != nil {
			return usageErr(stderr, "batch", "reading the spec from stdin: "+err.Error())
		}
		if len(b) > maxSpecBytes {
			return usageErr(stderr, "batch", fmt.Sprintf("the spec is larger than %d bytes", maxSpecBytes))
		}
		raw = b
	}
	probes, err := parseSpec(raw)
	if err != nil {
		return usageErr(stderr, "batch", err.Error())
	}
	if err := runBatch(context.Background(), probes, *concurrency, stdout); err != nil {
		fmt.Fprintf(stderr, "labrun-probe batch: writing results: %v\n", err)
		return exitFail
	}
	return exitOK
}

// parseSpec validates the whole spec before anything runs.
func parseSpec(raw []byte) ([]batchProbe, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("the spec is not a JSON array: %v", err)
	}
	seen := map[string]bool{}
	probes := make([]batchProbe, 0, len(items))
	for i, rawItem := range items {
		p, err := parseItem(rawItem)
		if err != nil {
			return nil, fmt.Errorf("item %d: %v", i, err)
		}
		if seen[p.id] {
			return nil, fmt.Errorf("item %d: duplicate id %q", i, p.id)
		}
		seen[p.id] = true
		probes = append(probes, p)
	}
	return probes, nil
}

func parseItem(raw json.RawMessage) (batchProbe, error) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		return batchProbe{}, errors.New("not a JSON object")
	}
	var it batchItem
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&it); err != nil {
		return batchProbe{}, err
	}
	if it.ID == "" {
		return batchProbe{}, errors.New(`"id" is required (a non-empty string)`)
	}
	allowed, ok := batchFields[it.Kind]
	if !ok {
		return batchProbe{}, fmt.Errorf("id %q: \"kind\" must be http, dns, tcp or echo, not %q", it.ID, it.Kind)
	}
	for k := range keys {
		if k != "id" && k != "kind" && k != "timeoutMs" && !contains(allowed, k) {
			return batchProbe{}, fmt.Errorf("id %q: %q does not apply to kind %s (it takes %s)", it.ID, k, it.Kind, strings.Join(allowed, ", "))
		}
	}
	p, err := it.probe()
	if err != nil {
		return batchProbe{}, fmt.Errorf("id %q: %v", it.ID, err)
	}
	return p, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (it batchItem) probe() (batchProbe, error) {
	timeoutMs := int64(defaultTimeoutMs)
	if it.TimeoutMs != nil {
		timeoutMs = *it.TimeoutMs
	}
	if timeoutMs <= 0 || timeoutMs > maxTimeoutMs {
		return batchProbe{}, fmt.Errorf("timeoutMs must be 1-%d", maxTimeoutMs)
	}
	timeout := time.Duration(timeoutMs) * time.Millisecond
	searchSet := it.Search != nil || it.Ndots != nil
	dns := resolveOpts{Ndots: defaultNdots}
	if it.Search != nil {
		dns.Search = *it.Search
	}
	if it.Ndots != nil {
		dns.Ndots = *it.Ndots
	}
	p := batchProbe{id: it.ID, kind: it.Kind}
	switch it.Kind {
	case "http":
		o := httpOpts{URL: it.URL, Timeout: timeout, MaxBody: 65536, Insecure: it.Insecure, AllowLocal: it.AllowLocal, DNS: dns}
		o.DNS.Servers = it.DNSServer
		if it.MaxBody != nil {
			o.MaxBody = *it.MaxBody
		}
		if err := o.validate(searchSet); err != nil {
			return p, flagToField(err)
		}
		p.run = func(ctx context.Context) (bool, any) { r := probeHTTP(ctx, o); return r.OK, r }
	case "dns":
		o := dnsOpts{Name: it.Name, Type: it.Type, Timeout: timeout, DNS: dns}
		if o.Type == "" {
			o.Type = "A"
		}
		o.DNS.Servers = it.Server
		if err := o.validate(searchSet); err != nil {
			return p, flagToField(err)
		}
		p.run = func(ctx context.Context) (bool, any) { r := runDNS(ctx, o); return r.OK, r }
	case "tcp":
		o := tcpOpts{Addr: it.Addr, Timeout: timeout, AllowLocal: it.AllowLocal, DNS: dns}
		o.DNS.Servers = it.DNSServer
		if err := o.validate(searchSet); err != nil {
			return p, flagToField(err)
		}
		p.run = func(ctx context.Context) (bool, any) { r := probeTCP(ctx, o); return r.OK, r }
	case "echo":
		o := echoOpts{URL: it.URL, Nonce: it.Nonce, ExpectHostname: it.ExpectHostname, Timeout: timeout, AllowLocal: it.AllowLocal}
		if err := o.validate(); err != nil {
			return p, flagToField(err)
		}
		p.run = func(ctx context.Context) (bool, any) { r := probeEcho(ctx, o); return r.OK, r }
	}
	return p, nil
}

// flagNames matches the CLI flag names in validation messages.
var flagNames = regexp.MustCompile(`--([a-z]+(-[a-z]+)*)`)

// flagToField rewrites the flag names in a validation message as the spec's
// field names: "--max-body" as "maxBody", "--timeout" as "timeoutMs".
func flagToField(err error) error {
	return errors.New(flagNames.ReplaceAllStringFunc(err.Error(), func(flag string) string {
		parts := strings.Split(strings.TrimPrefix(flag, "--"), "-")
		for i := 1; i < len(parts); i++ {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
		if field := strings.Join(parts, ""); field != "timeout" {
			return field
		}
		return "timeoutMs"
	}))
}

// runBatch runs the probes, at most concurrency at once, and prints one line
// per probe in input order: {"id":..., "kind":..., ...that kind's result}. A
// line is written as soon as its probe and every probe before it are done.
func runBatch(ctx context.Context, probes []batchProbe, concurrency int, stdout io.Writer) error {
	lines := make([]chan []byte, len(probes))
	for i := range lines {
		lines[i] = make(chan []byte, 1)
	}
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	for i, p := range probes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			_, result := p.run(ctx)
			lines[i] <- batchLine(p.id, p.kind, result)
		}()
	}
	var werr error
	for _, ch := range lines {
		line := <-ch
		if werr == nil {
			_, werr = stdout.Write(line)
		}
	}
	wg.Wait()
	return werr
}

// batchLine is result's JSON object with "id" and "kind" first.
func batchLine(id, kind string, result any) []byte {
	var body, head bytes.Buffer
	if err := writeLine(&body, result); err != nil || !bytes.HasPrefix(body.Bytes(), []byte("{")) {
		body.Reset()
		body.WriteString(`{"ok":false,"error":"cannot encode the result"}` + "\n")
	}
	_ = writeLine(&head, struct {
		ID   string `json:"id"`
		Kind string `json:"kind"`
	}{id, kind})
	line := bytes.TrimSuffix(bytes.TrimSuffix(head.Bytes(), []byte("\n")), []byte("}")) // {"id":..,"kind":..
	rest := body.Bytes()[1:]                                                            // ...}\n
	if !bytes.HasPrefix(rest, []byte("}")) {
		line = append(line, ',')
	}
	return append(line, rest...)
}
