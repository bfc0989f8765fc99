#!/bin/sh
# Runs inside the labrun Debian image; writes to stdout a tar of a distroless-like
# root for static Go binaries (kube-apiserver, etcd, CoreDNS...): passwd/group
# with root, nonroot (65532) and nobody, CA certificates, time zone data
# (CronJob .spec.timeZone), nsswitch.conf and a sticky /tmp. Nothing else.
set -e
out=/out
mkdir -p $out/etc/ssl/certs $out/usr/share $out/tmp $out/home/nonroot
{
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q tzdata ca-certificates
} >&2
cp /etc/ssl/certs/ca-certificates.crt $out/etc/ssl/certs/
cp -a /usr/share/zoneinfo $out/usr/share/
printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >$out/etc/passwd
printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' >$out/etc/group
echo 'hosts: files dns' >$out/etc/nsswitch.conf
chmod 1777 $out/tmp
chown 65532:65532 $out/home/nonroot
tar -C $out --numeric-owner -c .
