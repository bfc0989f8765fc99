package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

func echoCLI(t *testing.T, args ...string) (EchoResult, int) {
	t.Helper()
	var res EchoResult
	code := runJSON(t, append([]string{"echo"}, args...), &res)
	return res, code
}

// A labrun-owned probe pod runs "hold --listen"; another pod's probe checks,
// with a fresh nonce, that the answer came from it.
func TestEchoAgainstHold(t *testing.T) {
	t.Setenv("POD_IP", "10.244.1.7")
	hostname, _ := os.Hostname()
	h := startHold(t, "--max", "0", "--listen", "127.0.0.1:0")
	if h.ready.Listen == "" || !strings.HasPrefix(h.ready.Listen, "127.0.0.1:") {
		t.Fatalf("ready: %+v", h.ready)
	}
	url := "http://" + h.ready.Listen

	res, code := echoCLI(t, "--url", url, "--nonce", "n-1", "--expect-hostname", hostname)
	if code != exitOK || !res.OK || !res.NonceMatch || res.Nonce != "n-1" || res.Hostname != hostname || res.PodIP != "10.244.1.7" {
		t.Fatalf("exit %d %+v", code, res)
	}
	// The server saw the probe's own source address: no NAT between them.
	if res.Peer == "" || res.Peer != res.LocalAddr || !res.PeerMatchesLocal || res.RemoteAddr != h.ready.Listen {
		t.Fatalf("addresses: %+v", res)
	}
	if res.URL != url+"/labrun/echo?nonce=n-1" {
		t.Fatalf("url %q", res.URL)
	}

	// Without --nonce a random one is made up and must come back.
	res, code = echoCLI(t, "--url", url)
	if code != exitOK || len(res.Nonce) != 32 || !res.NonceMatch {
		t.Fatalf("random nonce: exit %d %+v", code, res)
	}

	res, code = echoCLI(t, "--url", url, "--expect-hostname", "some-other-pod")
	if code != exitFail || res.OK || !res.NonceMatch || !strings.Contains(res.Error, `not "some-other-pod"`) {
		t.Fatalf("wrong hostname: exit %d %+v", code, res)
	}

	// The raw server: errors for anything but GET /labrun/echo?nonce=N.
	for path, want := range map[string]int{"/labrun/echo": 400, "/": 404, "/labrun/echo?nonce=" + strings.Repeat("x", 257): 400} {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	resp, err := http.Post(url+"/labrun/echo?nonce=1", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Errorf("POST: %d", resp.StatusCode)
	}

	if res, code := h.end(t); code != exitOK || res.Reason != "signal" {
		t.Fatalf("hold: %d %+v", code, res)
	}
}

// Something else answering on the address (a learner's server, or a stale
// pod) does not know the nonce.
func TestEchoRejectsWrongAnswers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("nonce") {
		case "html":
			_, _ = io.WriteString(w, "<h1>Welcome to nginx!</h1>")
		case "teapot":
			w.WriteHeader(http.StatusTeapot)
		default:
			_ = json.NewEncoder(w).Encode(EchoReply{Nonce: "replayed", Hostname: "impostor", Peer: r.RemoteAddr})
		}
	}))
	defer srv.Close()
	cases := map[string]string{
		"n-2":    `the echo carried nonce "replayed", not "n-2"`,
		"html":   "the answer is not an echo reply: <h1>Welcome to nginx!</h1>",
		"teapot": "the echo server answered HTTP 418",
	}
	for nonce, want := range cases {
		res, code := echoCLI(t, "--url", srv.URL, "--nonce", nonce)
		if code != exitFail || res.OK || !strings.HasPrefix(res.Error, want) {
			t.Errorf("%s: exit %d %+v", nonce, code, res)
		}
	}
	if res, code := echoCLI(t, "--url", "http://"+closedPort(t)); code != exitFail || res.OK || res.Error == "" {
		t.Errorf("closed port: exit %d %+v", code, res)
	}
}

func TestEchoURL(t *testing.T) {
	cases := map[string]string{
		"http://10.244.1.7:8080":            "http://10.244.1.7:8080/labrun/echo?nonce=a+b",
		"http://10.244.1.7:8080/":           "http://10.244.1.7:8080/labrun/echo?nonce=a+b",
		"http://10.244.1.7:8080/custom?x=1": "http://10.244.1.7:8080/custom?nonce=a+b&x=1",
		"http://10.244.1.7:8080/?nonce=old": "http://10.244.1.7:8080/labrun/echo?nonce=a+b",
	}
	for in, want := range cases {
		if got := echoURL(in, "a b"); got != want {
			t.Errorf("echoURL(%q) = %q, want %q", in, got, want)
		}
	}
}
