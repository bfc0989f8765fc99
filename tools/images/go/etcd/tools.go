//go:build tools

// Package tools pins etcdctl, built from go.etcd.io/etcd/etcdctl/v3.
package tools

import (
	_ "go.etcd.io/etcd/etcdctl/v3"
)
