#!/bin/sh
set -e
# like curlimages/curl: options (or nothing runnable) go to curl
if [ "${1#-}" != "$1" ] || ! command -v "$1" >/dev/null 2>&1; then
  set -- curl "$@"
fi
exec "$@"
