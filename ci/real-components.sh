#!/usr/bin/env bash
# Component identification on real Debian packages for foreign architectures: each package
# is unpacked alone, `fwgate components --json` runs over it, and the version fwgate reads
# from the binaries must be the upstream part of the version the package's metadata states
# (`dpkg-deb -f X.deb Version`), for the component the package is. No other version may be
# claimed for that component. Needs root for `dpkg --add-architecture` (or the .debs already
# in $DEBS); SKIPPED with exit 0 when the mirror cannot be reached; a wrong or missing
# version is exit 1.
set -euo pipefail
cd "$(dirname "$0")/.."
fw=${FWGATE:-$PWD/target/release/fwgate}
[ -x "$fw" ] || cargo build --release --quiet
debs=${DEBS:-$PWD/target/real-components/debs}
# package:arch=component
expect="busybox-static:armhf=busybox busybox-static:mipsel=busybox busybox-static:arm64=busybox
  dropbear-bin:armhf=dropbear dropbear-bin:mipsel=dropbear dropbear-bin:arm64=dropbear
  openssh-server:armhf=openssh openssh-server:arm64=openssh openssh-server:mipsel=openssh
  dnsmasq-base:armhf=dnsmasq dnsmasq-base:mipsel=dnsmasq dnsmasq-base:arm64=dnsmasq
  lighttpd:armhf=lighttpd lighttpd:arm64=lighttpd lighttpd:mipsel=lighttpd
  libssl3:armhf=openssl libssl3:mipsel=openssl libssl3:arm64=openssl
  libc6:armhf=glibc libc6:mipsel=glibc libc6:arm64=glibc
  zlib1g:armhf=zlib zlib1g:arm64=zlib libcurl4:armhf=curl libcurl4:arm64=curl"
pkgs=$(printf '%s\n' $expect | cut -d= -f1)

. ci/debs.sh
# shellcheck disable=SC2086 # one word per package
fetch_debs real-components "$debs" 12 $pkgs

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bad=0 ok=0
for e in $expect; do
  pkg=${e%%=*} comp=${e#*=} name=${pkg%%:*} arch=${pkg#*:}
  deb=$(ls "$debs"/"${name}"_*_"${arch}".deb 2>/dev/null | head -1 || true)
  [ -n "$deb" ] || { echo "real-components: $pkg not downloaded, not checked"; continue; }
  version=$(dpkg-deb -f "$deb" Version)
  upstream=${version#*:}; upstream=${upstream%-*}
  # Debian's repacks (+dfsg, +ds, .dfsg) are not part of the upstream version.
  upstream=$(printf '%s' "$upstream" | sed -E 's/[.+~](dfsg|ds|repack)[0-9]*$//')
  rm -rf "$work/root"; mkdir "$work/root"
  dpkg-deb -x "$deb" "$work/root"
  "$fw" components --json "$work/root" > "$work/c.json" 2> "$work/err" || { echo "real-components: $pkg: fwgate failed: $(cat "$work/err")"; bad=$((bad + 1)); continue; }
  got=$(python3 -c 'import json,sys; print(" ".join(sorted({c.get("version") or "unknown" for c in json.load(open(sys.argv[1])) if c["id"] == sys.argv[2]})))' "$work/c.json" "$comp")
  if [ "$got" = "$upstream" ]; then
    ok=$((ok + 1))
    printf 'real-components: %-24s %-9s %-18s ok\n' "$pkg" "$comp" "$upstream"
  else
    bad=$((bad + 1))
    printf 'real-components: %-24s %-9s expected %s, fwgate read: %s\n' "$pkg" "$comp" "$upstream" "${got:-nothing}"
  fi
done
echo "real-components: $ok package(s) identified with their stated version, $bad wrong or missing"
[ "$bad" -eq 0 ]
