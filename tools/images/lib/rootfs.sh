# shellcheck shell=bash
# The root of every Debian-based image: a debootstrap'ed bookworm (minbase),
# turned into an image with `docker import`. Derived images install their
# packages with apt inside `docker build`, like kind's own base image does on
# top of debian:bookworm-slim.

debian_key() { recipe_hash "debian:$DEBIAN_SUITE:$DEBIAN_MIRROR:$DEBIAN_SECURITY_MIRROR" lib/rootfs.sh; }

ensure_debootstrap() {
  command -v debootstrap >/dev/null 2>&1 && return
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    die "debootstrap is required (apt-get install debootstrap)"
  fi
  echo "installing debootstrap with apt-get"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap
}

# Same dpkg/apt settings as the official debian:*-slim images: no docs, man
# pages or locales; no recommends; apt caches cleaned after each install.
write_slim_config() {
  local root=$1
  mkdir -p "$root/etc/dpkg/dpkg.cfg.d" "$root/etc/apt/apt.conf.d"
  cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
EOF
  cat >"$root/etc/apt/apt.conf.d/docker" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  cat >"$root/etc/apt/sources.list" <<EOF
deb $DEBIAN_MIRROR $DEBIAN_SUITE main
deb $DEBIAN_MIRROR $DEBIAN_SUITE-updates main
deb $DEBIAN_SECURITY_MIRROR $DEBIAN_SUITE-security main
EOF
}

# clean_root DIR: unmount anything left mounted below DIR (an interrupted
# debootstrap or chroot), then delete it without crossing file systems.
clean_root() {
  local m
  for m in $(findmnt -rn -o TARGET | grep -F "$1/" | sort -r); do umount -l "$m" || true; done
  rm -rf --one-file-system "$1"
}

image_debian() {
  local key; key=$(debian_key)
  image_cached "$DEBIAN_IMAGE" "$key" && { step_cached; return; }
  ensure_debootstrap
  local root=$CACHE_WORK/debian-rootfs
  clean_root "$root"; mkdir -p "$root"
  # shellcheck disable=SC2064
  trap "clean_root '$root'" EXIT
  debootstrap --variant=minbase --include=ca-certificates "$DEBIAN_SUITE" "$root" "$DEBIAN_MIRROR"
  write_slim_config "$root"
  # bring it up to date with bookworm-updates and -security, then shrink it
  mount --bind /proc "$root/proc"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  chroot "$root" sh -ec 'export DEBIAN_FRONTEND=noninteractive
    apt-get update -q && apt-get upgrade -y -q && apt-get clean'
  umount "$root/proc"
  : >"$root/etc/resolv.conf"; : >"$root/etc/hostname"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/log/* "$root"/tmp/* \
    "$root"/usr/share/man/* "$root"/usr/share/locale/* "$root"/usr/share/info/*
  find "$root/usr/share/doc" -type f ! -name copyright -delete
  tar -C "$root" --numeric-owner -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' \
    --change "LABEL labrun.key=$key" \
    - "$DEBIAN_IMAGE"
  clean_root "$root"
  image_save "$DEBIAN_IMAGE" "$key"
}
