#!/usr/bin/env bash
# What component identification adds to a scan: `fwgate scan` of the largest sample with the
# built-in rules, beside the same scan with rules/ minus components/ and advisories/, in one
# hyperfine run (and `fwgate sbom` beside them). Prints hyperfine's table.
set -euo pipefail
cd "$(dirname "$0")/.."
fw=${FWGATE:-$PWD/target/release/fwgate}
[ -x "$fw" ] || cargo build --release --quiet
img=${1:-firmware-samples/hardened.bin}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r rules "$work/rules"
rm -rf "$work/rules/components" "$work/rules/advisories"
hyperfine -N -i --warmup 2 --runs ${RUNS:-15} \
  -n "scan without identification" "$fw scan --format json -o /dev/null --fail-on critical --rules $work/rules $img" \
  -n "scan with identification" "$fw scan --format json -o /dev/null --fail-on critical $img" \
  -n "sbom" "$fw sbom --manufacturer bench -o /dev/null $img"
