#!/usr/bin/env bash
# Benchmark: fwgate beside the tools a team stitches together today, on the bundled samples.
# Prints a table of wall time (median of runs, hyperfine) and peak memory (GNU time, max RSS).
#   unpack:  fwgate unpack            vs  binwalk -Me (recursive carving + extraction)
#   gate:    fwgate gate (unpack, 4 rules, evidence, no key)
# Needs: hyperfine, GNU time, binwalk (apt-get install hyperfine time binwalk squashfs-tools).
set -euo pipefail
cd "$(dirname "$0")/.."
for t in hyperfine /usr/bin/time binwalk unsquashfs; do
  command -v "$t" >/dev/null || { echo "bench.sh: $t is missing (apt-get install hyperfine time binwalk squashfs-tools)" >&2; exit 2; }
done
cargo build --release --quiet
fw=$PWD/target/release/fwgate
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
runs=${RUNS:-10}

median_ms() { # command... -> median wall time in ms over $runs runs
  hyperfine --style none --ignore-failure --runs "$runs" --warmup 1 --export-json "$work/h.json" \
    --prepare "rm -rf $work/o $work/b $work/ev" "$*" >/dev/null 2>&1
  python3 -c 'import json,sys; print("%.1f" % (json.load(open(sys.argv[1]))["results"][0]["median"]*1000))' "$work/h.json"
}
peak_kib() { # command... -> max RSS in KiB
  rm -rf "$work/o" "$work/b" "$work/ev"
  /usr/bin/time -f "%M" -o "$work/t" bash -c "$*" >/dev/null 2>&1 || true
  tail -1 "$work/t"
}
files() { find "$1" -type f 2>/dev/null | wc -l; }

printf '%-12s %-34s %12s %12s %8s\n' sample tool median_ms peak_MiB files
for s in router.bin clean.bin; do
  img=$PWD/firmware-samples/$s
  cmd_f="$fw unpack $img -o $work/o"
  cmd_b="cd $work && binwalk -qMe --run-as=$(id -un) -C $work/b $img"
  cmd_g="$fw gate $img --evidence $work/ev"
  t=$(median_ms "$cmd_f"); m=$(peak_kib "$cmd_f"); n=$(files "$work/o")
  printf '%-12s %-34s %12s %12.1f %8s\n' "$s" "fwgate unpack" "$t" "$(echo "$m/1024" | bc -l)" "$n"
  t=$(median_ms "$cmd_b"); m=$(peak_kib "$cmd_b"); n=$(files "$work/b")
  printf '%-12s %-34s %12s %12.1f %8s\n' "$s" "binwalk -Me $(binwalk --help 2>&1 | head -2 | tail -1 | awk '{print $2}')" "$t" "$(echo "$m/1024" | bc -l)" "$n"
  t=$(median_ms "$cmd_g"); m=$(peak_kib "$cmd_g")
  printf '%-12s %-34s %12s %12.1f %8s\n' "$s" "fwgate gate (unpack+scan+evidence)" "$t" "$(echo "$m/1024" | bc -l)" "-"
done
