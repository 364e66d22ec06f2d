#!/usr/bin/env bash
# Scans real Debian binaries that carry PEM markers as strings (ssh-keygen, sshd, dropbearkey,
# dropbearconvert, libcrypto) for private keys: every hit would be a false positive.
# Usage: crates/fwgate-scan/tests/keys/real-binaries.sh [WORKDIR]   (needs apt-get, dpkg-deb)
set -euo pipefail
work=${1:-$(mktemp -d)}
root=$(cd "$(dirname "$0")/../../../.." && pwd)
mkdir -p "$work/debs" "$work/root"
(cd "$work/debs" && apt-get download openssh-client openssh-server dropbear-bin libssl3)
for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$work/root"; done
ls -l "$work"/root/usr/bin/ssh-keygen "$work"/root/usr/sbin/sshd "$work"/root/usr/bin/dropbearkey \
  "$work"/root/usr/lib/dropbear/dropbearconvert "$work"/root/usr/lib/*/libcrypto.so.3
cd "$root"
FWGATE_REAL_BINARIES="$work/root" cargo test -p fwgate-scan --lib \
  keys::tests::real_binaries_have_no_private_keys -- --nocapture
