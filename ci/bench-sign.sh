#!/usr/bin/env bash
# Benchmark: hashing and signing throughput, fwgate beside the tools a release pipeline would
# otherwise call, on one file of random bytes (1 GiB by default, SIZE_MIB to change), in one
# run. Prints a table of median wall time (hyperfine), throughput and peak memory (GNU time):
#   digests: fwgate digest --algorithm sha256 | blake2b512 | both (one pass, two cores)
#            beside openssl dgst -sha256, sha256sum, b2sum
#   signing: fwgate sign --without-gate (minisign, prehashed), with --raw (two more streamed
#            passes of SHA-512 for PureEd25519), minisign -S, openssl pkeyutl -sign -rawin
# and then the constant-memory check: fwgate sign --raw and verify of a 4 GiB sparse image,
# with peak RSS (OpenSSL's -rawin reads the whole file into memory, so it is not run there).
# Needs: hyperfine, GNU time, openssl, minisign, python3 (apt-get install hyperfine time
# openssl minisign).
set -euo pipefail
cd "$(dirname "$0")/.."
for t in hyperfine /usr/bin/time openssl minisign sha256sum b2sum python3; do
  command -v "$t" >/dev/null || { echo "bench-sign.sh: $t is missing (apt-get install hyperfine time openssl minisign)" >&2; exit 2; }
done
cargo build --release --quiet
fw=$PWD/target/release/fwgate
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
runs=${RUNS:-5}
mib=${SIZE_MIB:-1024}
file=$work/image.bin
head -c "$((mib << 20))" /dev/urandom >"$file"

"$fw" keygen --out-dir "$work" --name bench --unencrypted >/dev/null
minisign -G -W -p "$work/m.pub" -s "$work/m.key" >/dev/null
openssl genpkey -algorithm ed25519 -out "$work/o.key" 2>/dev/null

median_s() { # command -> median wall time in seconds
  hyperfine --style none --runs "$runs" --warmup 1 --export-json "$work/h.json" "$1" >/dev/null 2>&1
  python3 -c 'import json,sys; print("%.3f" % json.load(open(sys.argv[1]))["results"][0]["median"])' "$work/h.json"
}
peak_mib() { # command -> max RSS in MiB
  /usr/bin/time -f "%M" -o "$work/t" bash -c "$1" >/dev/null 2>&1 || true
  awk '{printf "%.0f", $1/1024}' "$work/t"
}
row() { # label command
  local s
  s=$(median_s "$2")
  printf "| %-46s | %8s | %9s | %8s |\n" "$1" "$s" \
    "$(python3 -c "print('%.0f' % ($mib / $s))")" "$(peak_mib "$2")"
}

echo "file: $mib MiB of random bytes; median of $runs runs; $(nproc) cores"
echo "$(openssl version | cut -d' ' -f1-2); $(sha256sum --version | head -1)"
echo
printf "| %-46s | %8s | %9s | %8s |\n" "command" "time (s)" "MiB/s" "peak MiB"
printf "|%s|%s|%s|%s|\n" "------------------------------------------------" "----------" "-----------" "----------"
row "fwgate digest --algorithm sha256" "$fw digest --algorithm sha256 $file"
row "openssl dgst -sha256" "openssl dgst -sha256 $file"
row "sha256sum" "sha256sum $file"
row "fwgate digest --algorithm blake2b512" "$fw digest --algorithm blake2b512 $file"
row "b2sum (BLAKE2b-512)" "b2sum $file"
row "fwgate digest --algorithm both (one pass)" "$fw digest --algorithm both $file"
row "fwgate sign --without-gate (minisign)" "$fw sign $file --key $work/bench.key --without-gate"
row "minisign -S" "minisign -S -s $work/m.key -m $file -x $work/m.sig"
row "fwgate sign --without-gate --raw (both)" "$fw sign $file --key $work/bench.key --without-gate --raw"
row "openssl pkeyutl -sign -rawin" "openssl pkeyutl -sign -rawin -inkey $work/o.key -in $file -out $work/o.sig"
row "fwgate verify (minisign)" "$fw verify $file --key $work/bench.pub"
row "fwgate verify --key NAME.pem (raw)" "$fw verify $file --key $work/bench.pem --sig $file.sig"
row "openssl pkeyutl -verify -rawin" "openssl pkeyutl -verify -pubin -inkey $work/bench.pem -rawin -in $file -sigfile $file.sig"
rm -f "$file" "$file".*

echo
echo "constant memory: a 4 GiB sparse image"
big=$work/big.img
truncate -s 4G "$big"
printf "| %-46s | %8s | %8s |\n" "command" "time (s)" "peak MiB"
printf "|%s|%s|%s|\n" "------------------------------------------------" "----------" "----------"
big4() { # label command
  local start end m
  start=$(date +%s.%N)
  m=$(peak_mib "$2")
  end=$(date +%s.%N)
  printf "| %-46s | %8.1f | %8s |\n" "$1" "$(python3 -c "print($end - $start)")" "$m"
}
big4 "fwgate sign --without-gate --raw" "$fw sign $big --key $work/bench.key --without-gate --raw"
big4 "fwgate verify (minisign)" "$fw verify $big --key $work/bench.pub"
big4 "fwgate verify --key NAME.pem (raw)" "$fw verify $big --key $work/bench.pem --sig $big.sig"
