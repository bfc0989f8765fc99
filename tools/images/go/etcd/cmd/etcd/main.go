// Command etcd is etcd's server, built from the published go.etcd.io/etcd/server/v3
// module (the repository's root main package is not a published module version).
// It does exactly what etcd's own main.go does.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
