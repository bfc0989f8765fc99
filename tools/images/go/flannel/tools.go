//go:build tools

// Package tools pins flannel's install-conf helper (used by the init container).
package tools

import (
	_ "github.com/flannel-io/flannel/cmd/install_conf"
)
