#!/bin/sh
# labrun addition to kind's base image, run before containerd starts.
# Lowering a process's oom_score_adj needs CAP_SYS_RESOURCE. Where the node
# container does not have it in its bounding set (some CI sandboxes drop it
# from every container), runc would fail to start every pod ("failed to update
# /proc/self/oom_score_adj: Permission denied"). containerd's
# restrict_oom_score_adj -- what kind's entrypoint already turns on for rootless
# nodes -- clamps the score to containerd's own instead. On ordinary hosts this
# does nothing.
set -eu
bnd=$(awk '/^CapBnd:/ { print $2 }' /proc/self/status)
if [ $(( (0x$bnd >> 24) & 1 )) -eq 0 ]; then
  echo "CAP_SYS_RESOURCE not in the bounding set: enabling restrict_oom_score_adj"
  sed -i 's/restrict_oom_score_adj = false/restrict_oom_score_adj = true/' /etc/containerd/config.toml
fi
