package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// batchLines runs a batch and decodes its lines.
func batchLines(t *testing.T, args []string, stdin string) (int, []map[string]any, string) {
	t.Helper()
	code, stdout, stderr := runCLI(append([]string{"batch"}, args...), stdin)
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimRight(stdout, "\n"), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("bad JSON line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return code, out, stderr
}

func TestBatchMixedKinds(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("<b>hi</b>")) }))
	defer srv.Close()
	f := clusterDNS(t)
	f.A("web.default.svc.cluster.local", "127.0.0.1")
	port := portOf(t, srv.Listener.Addr().String())
	h := startHold(t, "--max", "0", "--listen", "127.0.0.1:0")
	defer h.end(t)

	spec := fmt.Sprintf(`[
	  {"id":"page","kind":"http","url":%q,"timeoutMs":2000,"maxBody":3},
	  {"id":"svc","kind":"dns","name":"web","server":[%q],"search":%q,"ndots":5},
	  {"id":"svc-system","kind":"dns","name":"localhost","type":"a"},
	  {"id":"closed","kind":"tcp","addr":%q,"timeoutMs":1000},
	  {"id":"by-name","kind":"http","url":"http://web:%s/","dnsServer":%q,"search":["default.svc.cluster.local"],"ndots":5},
	  {"id":"echo","kind":"echo","url":"http://%s","nonce":"b-1"}
	]`, srv.URL, f.Addr, kubeSearch, closedPort(t), port, f.Addr, h.ready.Listen)

	code, lines, stderr := batchLines(t, []string{"--spec", spec}, "")
	if code != exitOK || len(lines) != 6 {
		t.Fatalf("exit %d, %d lines, stderr %q", code, len(lines), stderr)
	}
	wantIDs := []string{"page", "svc", "svc-system", "closed", "by-name", "echo"}
	wantKinds := []string{"http", "dns", "dns", "tcp", "http", "echo"}
	// Line 2 (the system resolver on localhost) depends on this machine's
	// /etc/hosts: only its shape is checked.
	wantOK := map[int]bool{0: true, 1: true, 3: false, 4: false, 5: true}
	for i, l := range lines {
		if want, checked := wantOK[i]; l["id"] != wantIDs[i] || l["kind"] != wantKinds[i] || (checked && l["ok"] != want) {
			t.Errorf("line %d: %v", i, l)
		}
	}
	if lines[0]["body"] != "<b>" || lines[0]["truncated"] != true {
		t.Errorf("http: %v", lines[0])
	}
	if lines[1]["name"] != "web.default.svc.cluster.local" || lines[1]["server"] != f.Addr || lines[1]["rcode"] != "NOERROR" {
		t.Errorf("dns: %v", lines[1])
	}
	if lines[2]["server"] != "system" || lines[2]["name"] != "localhost" {
		t.Errorf("system dns: %v", lines[2])
	}
	// A name resolving to the pod itself: the hijack verdict, not a pass.
	if lines[4]["localTarget"] != true || !strings.Contains(fmt.Sprint(lines[4]["error"]), "is local to the source pod") {
		t.Errorf("by-name: %v", lines[4])
	}
	if lines[5]["nonceMatch"] != true {
		t.Errorf("echo: %v", lines[5])
	}
}

func TestBatchSpecFromStdin(t *testing.T) {
	f := clusterDNS(t)
	spec := fmt.Sprintf(`[{"id":"a","kind":"dns","name":"web.default.svc.cluster.local","server":%q},
	  {"id":"b","kind":"dns","name":"nope.default.svc.cluster.local","server":%q}]`, f.Addr, f.Addr)
	code, lines, _ := batchLines(t, []string{"--spec", "-"}, spec)
	if code != exitOK || len(lines) != 2 || lines[0]["ok"] != true || lines[1]["ok"] != false || lines[1]["rcode"] != "NXDOMAIN" {
		t.Fatalf("exit %d %v", code, lines)
	}
	if code, lines, _ := batchLines(t, []string{"--spec", "[]"}, ""); code != exitOK || len(lines) != 0 {
		t.Fatalf("empty spec: exit %d %v", code, lines)
	}
}

// barrier answers only once n requests are in flight at the same time.
func barrier(n int) http.Handler {
	var mu sync.Mutex
	inflight := 0
	release := make(chan struct{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inflight++
		if inflight == n {
			close(release)
		}
		mu.Unlock()
		select {
		case <-release:
			_, _ = w.Write([]byte("together"))
		case <-r.Context().Done(): // the client gave up
			mu.Lock()
			inflight--
			mu.Unlock()
		}
	})
}

// Probes run concurrently: three requests that each wait for the other two
// all succeed; with --concurrency 1 they cannot.
func TestBatchRunsConcurrently(t *testing.T) {
	spec := func(url string, timeoutMs int) string {
		var items []string
		for i := 0; i < 3; i++ {
			items = append(items, fmt.Sprintf(`{"id":"p%d","kind":"http","url":%q,"timeoutMs":%d}`, i, url, timeoutMs))
		}
		return "[" + strings.Join(items, ",") + "]"
	}
	srv := httptest.NewServer(barrier(3))
	defer srv.Close()
	code, lines, _ := batchLines(t, []string{"--spec", spec(srv.URL, 20000)}, "")
	if code != exitOK || len(lines) != 3 {
		t.Fatalf("exit %d %v", code, lines)
	}
	for i, l := range lines {
		if l["id"] != fmt.Sprintf("p%d", i) || l["ok"] != true || l["body"] != "together" {
			t.Errorf("line %d: %v", i, l)
		}
	}

	serial := httptest.NewServer(barrier(3))
	defer serial.Close()
	code, lines, _ = batchLines(t, []string{"--spec", spec(serial.URL, 200), "--concurrency", "1"}, "")
	if code != exitOK || len(lines) != 3 {
		t.Fatalf("serial: exit %d %v", code, lines)
	}
	for i, l := range lines {
		if l["ok"] != false {
			t.Errorf("serial line %d passed: %v", i, l)
		}
	}
}

func TestBatchMalformedSpecs(t *testing.T) {
	cases := map[string]string{
		`{"id":"a"}`:                  "not a JSON array",
		`[1]`:                         "item 0: not a JSON object",
		`[{"kind":"dns","name":"x"}]`: `"id" is required`,
		`[{"id":"a","kind":"ping"}]`:  `"kind" must be`,
		`[{"id":"a","kind":"dns","name":"x","url":"http://x"}]`:                                  `"url" does not apply to kind dns`,
		`[{"id":"a","kind":"dns","name":"x","bogus":1}]`:                                         `unknown field "bogus"`,
		`[{"id":"a","kind":"dns","name":"x"},{"id":"a","kind":"dns","name":"y"}]`:                `duplicate id "a"`,
		`[{"id":"a","kind":"http","url":"ftp://x"}]`:                                             "url must start with http://",
		`[{"id":"a","kind":"http","url":"http://x","timeoutMs":0}]`:                              "timeoutMs must be",
		`[{"id":"a","kind":"http","url":"http://x","maxBody":-1}]`:                               "maxBody >= 0",
		`[{"id":"a","kind":"http","url":"http://x","search":"a"}]`:                               "search and ndots apply only with dnsServer",
		`[{"id":"a","kind":"dns","name":"x","server":"dns.example"}]`:                            `server "dns.example"`,
		`[{"id":"a","kind":"dns","name":"x","server":[1]}]`:                                      "want a string or an array of strings",
		`[{"id":"a","kind":"tcp","addr":"x"}]`:                                                   "addr must be host:port",
		`[{"id":"a","kind":"echo","url":"http://x","nonce":"` + strings.Repeat("n", 300) + `"}]`: "nonce must be at most",
	}
	for spec, want := range cases {
		code, stdout, stderr := runCLI([]string{"batch", "--spec", spec}, "")
		if code != exitUsage || stdout != "" || !strings.Contains(stderr, want) {
			t.Errorf("%s: exit %d stdout %q stderr %q, want %q", spec, code, stdout, stderr, want)
		}
	}
}
