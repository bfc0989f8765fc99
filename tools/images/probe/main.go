// Command labrun-probe is the network probe labrun runs as an ephemeral
// container in a learner's pod (it shares the pod's network namespace, so what
// it sees is what the pod sees). Every probe prints exactly one JSON line on
// stdout and exits 0 when the probe succeeded, 1 when it failed and 2 on a
// usage error.
//
//	labrun-probe http  --url U [--timeout 3s] [--max-body 65536] [--insecure] [--allow-local]
//	                   [--dns-server HOST:PORT]... [--search a,b] [--ndots N]
//	labrun-probe dns   --name N [--type A|AAAA|SRV|PTR] [--timeout 3s]
//	                   [--server HOST:PORT]... [--search a,b] [--ndots N]
//	labrun-probe tcp   --addr host:port [--timeout 3s] [--allow-local]
//	                   [--dns-server HOST:PORT]... [--search a,b] [--ndots N]
//	labrun-probe echo  --url http://IP:PORT [--nonce N] [--expect-hostname H] [--timeout 3s] [--allow-local]
//	labrun-probe batch --spec JSON|- [--concurrency 16]
//	labrun-probe hold  [--max 600s] [--listen :PORT]   # --max 0: until signalled
//	labrun-probe stop                                   # SIGTERM to this container's hold
//	labrun-probe version
//
// The files of this package: dns.go and resolver.go (DNS, direct or system),
// conn.go (what a connection says about where it went), http.go, tcp.go,
// echo.go (server and client), batch.go, hold.go and stop.go.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

var version = "dev"

const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

const usage = `usage: labrun-probe <command> [flags]
commands:
  http   --url U [--timeout 3s] [--max-body 65536] [--insecure] [--allow-local]
         [--dns-server HOST:PORT[,..]]... [--search a,b,..] [--ndots 1]
  dns    --name N [--type A|AAAA|SRV|PTR] [--timeout 3s]
         [--server HOST:PORT[,..]]... [--search a,b,..] [--ndots 1]
  tcp    --addr host:port [--timeout 3s] [--allow-local]
         [--dns-server HOST:PORT[,..]]... [--search a,b,..] [--ndots 1]
  echo   --url http://HOST:PORT [--nonce N] [--expect-hostname H] [--timeout 3s] [--allow-local]
  batch  --spec JSON|- [--concurrency 16]
  hold   [--max 600s] [--listen [IP]:PORT]   (--max 0: until SIGTERM/SIGINT)
  stop
  version
`

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
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
	case "echo":
		return cmdEcho(rest, stdout, stderr)
	case "batch":
		return cmdBatch(rest, stdin, stdout, stderr)
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

// writeLine writes v as one JSON line.
func writeLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// emit writes v as one JSON line and maps ok to the exit code.
func emit(stdout io.Writer, ok bool, v any) int {
	if err := writeLine(stdout, v); err != nil {
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

// listFlag is a repeatable flag whose values may also be comma-separated:
// "--server a --server b,c" is [a b c]. Empty items are dropped, so
// "--search ”" means an empty list.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	*l = append(*l, splitList(v)...)
	return nil
}

func splitList(v string) []string {
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// dnsFlags registers the direct-resolver flags shared by http, tcp and dns.
func dnsFlags(fs *flag.FlagSet, serverFlag string, o *resolveOpts) {
	fs.Var((*listFlag)(&o.Servers), serverFlag, "DNS server HOST:PORT to ask directly (repeatable, comma-separated); never /etc/hosts")
	fs.Var((*listFlag)(&o.Search), "search", "search domains for names that are not fully qualified (comma-separated; needs a server)")
	fs.IntVar(&o.Ndots, "ndots", defaultNdots, "a name with at least this many dots is tried as is first (needs a server)")
}
