#!/usr/bin/env bash
# False-positive check on real third-party binaries: Debian's busybox, dropbear, libc, OpenSSL,
# libzstd, liblz4, libarchive, libblkid, e2fsprogs, squashfs-tools and util-linux for armhf,
# mipsel and arm64 — binaries that carry the magics of many formats as constants — packed into
# a SquashFS behind the clean sample's kernel. `fwgate unpack` must explain every byte: no
# "recognised but cannot extract", no unknown region, no parser failure.
#
# Needs root for `dpkg --add-architecture` (or the .debs already in $DEBS). When the Debian
# mirror cannot be reached the script says SKIPPED and exits 0; a problem reported by fwgate
# is exit 1.
set -euo pipefail
cd "$(dirname "$0")/.."
fw=${FWGATE:-$PWD/target/release/fwgate}
[ -x "$fw" ] || cargo build --release --quiet
debs=${DEBS:-$PWD/target/real-binaries/debs}
pkgs="busybox-static:mipsel busybox-static:arm64 dropbear-bin:armhf dropbear-bin:mipsel
  dropbear-bin:arm64 libzstd1:armhf libzstd1:arm64 liblz4-1:arm64 liblz4-1:mipsel libssl3:mipsel
  libarchive13:arm64 libblkid1:armhf libext2fs2:mipsel libc6:arm64 libc6:mipsel zstd:arm64
  lz4:armhf e2fsprogs:arm64 squashfs-tools:mipsel util-linux:armhf"

. ci/debs.sh
# shellcheck disable=SC2086 # one word per package
fetch_debs real-binaries "$debs" 10 $pkgs
n=$(ls "$debs"/*.deb | wc -l)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for d in "$debs"/*.deb; do dpkg-deb -x "$d" "$work/root"; done
mkdir -p "$work/root/etc"
printf 'root:!:19000:0:99999:7:::\n' > "$work/root/etc/shadow"
mksquashfs "$work/root" "$work/root.sqfs" -comp xz -noappend -all-root -quiet -no-progress >/dev/null
{ head -c $((0x20000)) firmware-samples/clean.bin; cat "$work/root.sqfs"; } > "$work/fw.bin"
files=$(find "$work/root" -type f | wc -l)
start=$(date +%s.%N)
"$fw" unpack "$work/fw.bin" -o "$work/out" --json "$work/manifest.json" > "$work/log" 2>&1 || true
end=$(date +%s.%N)
problems=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["problems"]))' "$work/manifest.json")
printf 'real-binaries: %s packages, %s files, %s MiB image, unpacked in %.2f s, %s problem(s)\n' \
  "$n" "$files" "$(( $(stat -c %s "$work/fw.bin") >> 20 ))" "$(awk "BEGIN { print $end - $start }")" "$problems"
if [ "$problems" -ne 0 ]; then
  grep warning "$work/log" | cut -c1-300
  exit 1
fi
