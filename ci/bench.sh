#!/usr/bin/env bash
# Benchmark: fwgate beside the tools a team stitches together today, on the bundled samples.
# Prints a table of wall time (median of runs, hyperfine) and peak memory (GNU time, max RSS).
#   unpack:  fwgate unpack            vs  binwalk -Me (recursive carving + extraction)
#   gate:    fwgate gate (unpack, 4 rules, evidence, no key)
#   attacks: fwgate gate on crafted resource attacks (a 1 GiB gzip child, an oversized SquashFS
#            metadata block, 2 000 nested directories, ten bcrypt-12 shadow files under
#            --timeout 10, 300 000 gzip signatures), with binwalk -Me beside it where it applies:
#            each must end by itself, within the deadline, under 512 MiB.
#   big:     a realistic image: a ~90 MiB uImage holding an xz SquashFS of ~7 000 real Debian
#            armhf files (331 MiB unpacked, 27 packages fetched with apt-get download), and the
#            same image padded to 2 GiB like an eMMC dump: fwgate unpack and gate beside
#            binwalk-ng, unblob and unsquashfs, median of 3 runs (1 of the 2 GiB image), peak RSS,
#            files recovered
#            (and how many of unsquashfs's files each recovered byte-identical).
# Sections: `ci/bench.sh [samples] [attacks] [big]` (default: all three).
# Needs: hyperfine, GNU time, binwalk (apt-get install hyperfine time binwalk squashfs-tools
# python3 bc u-boot-tools). BINWALK=path picks another binwalk for the samples and attacks.
# The big section installs binwalk-ng (cargo install) into target/bench-tools and unblob (PyPI)
# into target/bench-venv when missing; neither ships a SquashFS extractor of its own (both call
# `sasquatch`, which Debian does not package), so they are given a `sasquatch` that runs
# unsquashfs, as the issue that set this benchmark measured them.
set -euo pipefail
cd "$(dirname "$0")/.."
bw=${BINWALK:-binwalk}
sections=" ${*:-samples attacks big} "
section() { case "$sections" in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
need_bw=
{ section samples || section attacks; } && need_bw=$bw
for t in hyperfine /usr/bin/time $need_bw unsquashfs mksquashfs python3 bc; do
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
# binwalk 2.x (Python) and binwalk 3 (binwalk-ng, Rust) take different flags.
bw_version=$( ("$bw" --version 2>/dev/null || true) | head -1 | awk "{print \$NF}")
[ -n "$bw_version" ] || bw_version=$( ("$bw" --help 2>&1 || true) | head -2 | tail -1 | awk '{print $2}')
binwalk_cmd() {
  case "$bw_version" in
    3*) echo "$bw -q -M -e -C $work/b $1" ;;
    4*) echo "$bw -q -M -e -d $work/b $1" ;;
    *) echo "$bw -qMe --run-as=$(id -un) -C $work/b $1" ;;
  esac
}

if section samples; then
printf '%-12s %-34s %12s %12s %8s\n' sample tool median_ms peak_MiB files
for s in router.bin clean.bin; do
  img=$PWD/firmware-samples/$s
  cmd_f="$fw unpack $img -o $work/o"
  cmd_b="cd $work && $(binwalk_cmd "$img")"
  cmd_g="$fw gate $img --evidence $work/ev"
  t=$(median_ms "$cmd_f"); m=$(peak_kib "$cmd_f"); n=$(files "$work/o")
  printf '%-12s %-34s %12s %12.1f %8s\n' "$s" "fwgate unpack" "$t" "$(echo "$m/1024" | bc -l)" "$n"
  t=$(median_ms "$cmd_b"); m=$(peak_kib "$cmd_b"); n=$(files "$work/b")
  printf '%-12s %-34s %12s %12.1f %8s\n' "$s" "binwalk -Me $bw_version" "$t" "$(echo "$m/1024" | bc -l)" "$n"
  t=$(median_ms "$cmd_g"); m=$(peak_kib "$cmd_g")
  printf '%-12s %-34s %12s %12.1f %8s\n' "$s" "fwgate gate (unpack+scan+evidence)" "$t" "$(echo "$m/1024" | bc -l)" "-"
done
fi

# --- resource attacks -------------------------------------------------------------------
if section attacks; then
mkdir -p "$work/atk"
prefix="$work/atk/prefix"
head -c $((0x20000)) firmware-samples/clean.bin > "$prefix"
mkroot() { # dir: a root with an empty root password
  mkdir -p "$1/etc" && echo 'root::19000:0:99999:7:::' > "$1/etc/shadow"
}
# A 1 GiB child from a ~1 MB gzip (ratio under the 1000x limit).
head -c $((1 << 30)) /dev/zero | gzip -9 > "$work/atk/bomb.gz"
cat "$prefix" "$work/atk/bomb.gz" > "$work/atk/gzip-bomb.bin"
# An oversized metadata block at the start of the inode table.
mkroot "$work/atk/r1"
mksquashfs "$work/atk/r1" "$work/atk/m.sqfs" -noappend -noI -quiet -no-progress >/dev/null
python3 - "$work/atk/m.sqfs" <<'PY'
import struct, sys
d = bytearray(open(sys.argv[1], 'rb').read())
at = struct.unpack_from('<Q', d, 64)[0]
d[at:at + 2] = struct.pack('<H', 0xffff)
open(sys.argv[1], 'wb').write(d)
PY
cat "$prefix" "$work/atk/m.sqfs" > "$work/atk/metadata.bin"
# 2 000 nested directories (mksquashfs keeps what PATH_MAX allows).
mkdir -p "$work/atk/deep"
python3 -c "import os
os.chdir('$work/atk/deep')
for i in range(3000):
    os.mkdir('d'); os.chdir('d')"
mksquashfs "$work/atk/deep" "$work/atk/deep.sqfs" -noappend -quiet -no-progress >/dev/null 2>&1
cat "$prefix" "$work/atk/deep.sqfs" > "$work/atk/deep.bin"
# Ten bcrypt-12 shadow files.
hash='$2b$12$abcdefghijklmnopqrstuuOeZ2hQ32AyBh8ZYFFLfYoUxWKOV2GcS'
for i in 0 1 2 3 4 5 6 7 8 9; do
  mkdir -p "$work/atk/slow/o$i/etc"; echo "root:$hash:19000:0:99999:7:::" > "$work/atk/slow/o$i/etc/shadow"
done
mksquashfs "$work/atk/slow" "$work/atk/slow.sqfs" -noappend -quiet -no-progress >/dev/null
cat "$prefix" "$work/atk/slow.sqfs" > "$work/atk/bcrypt.bin"
# 300 000 gzip signatures with every optional header field flagged.
python3 -c "import sys; sys.stdout.buffer.write(b'\x1f\x8b\x08' * 300000)" > "$work/atk/signatures.bin"

echo
printf '%-14s %-34s %10s %10s %6s  %s\n' attack tool seconds peak_MiB exit outcome
attack() { # name label timeout-secs command...
  local name=$1 label=$2 limit=$3; shift 3
  rm -rf "$work/o" "$work/b" "$work/ev"
  local start end code
  start=$(date +%s.%N)
  code=0
  /usr/bin/time -f "%M" -o "$work/t" timeout "$limit" bash -c "$*" > "$work/out" 2>&1 || code=$?
  end=$(date +%s.%N)
  local outcome
  outcome=$(grep -m1 -oE 'gate +(PASS|FAIL)|time budget[^;]*|not explained|metadata block[^;]*|PATH_MAX|deadline[^;]*' "$work/out" | head -1 || true)
  [ "$code" = 124 ] && outcome="killed by timeout ${limit}s"
  printf '%-14s %-34s %10.1f %10.1f %6s  %s\n' "$name" "$label" "$(echo "$end - $start" | bc -l)" \
    "$(echo "$(tail -1 "$work/t" 2>/dev/null || echo 0)/1024" | bc -l)" "$code" "${outcome:-?}"
}
for a in gzip-bomb metadata deep bcrypt signatures; do
  img="$work/atk/$a.bin"
  attack "$a" "fwgate gate --timeout 10" 60 "$fw gate $img --timeout 10 --evidence $work/ev"
  case $a in
    gzip-bomb|signatures) attack "$a" "binwalk -Me $bw_version" 300 "cd $work && $(binwalk_cmd "$img")" ;;
  esac
done
fi

# --- a realistic image, and the same padded to 2 GiB ------------------------------------------
if section big; then
. ci/debs.sh
debs=${BIG_DEBS:-$PWD/target/bench-debs}
fetch_debs bench.sh "$debs" 20 \
  python3.11-minimal:armhf libpython3.11-stdlib:armhf perl-base:armhf libperl5.36:armhf \
  libicu72:armhf libstdc++6:armhf libc6:armhf libssl3:armhf openssl:armhf coreutils:armhf \
  busybox:armhf systemd:armhf git:armhf libllvm15:armhf libglib2.0-0:armhf libx11-6:armhf \
  libgnutls30:armhf libsqlite3-0:armhf libxml2:armhf curl:armhf libcurl4:armhf \
  openssh-server:armhf openssh-client:armhf dropbear-bin:armhf perl-modules-5.36 vim-runtime git-man
tools=$PWD/target/bench-tools
[ -x "$tools/bin/binwalk" ] || cargo install binwalk-ng --root "$tools" >&2 ||
  echo "bench.sh: could not install binwalk-ng; its rows read n/a" >&2
venv=$PWD/target/bench-venv
[ -x "$venv/bin/unblob" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q unblob; } >&2 ||
  echo "bench.sh: could not install unblob; its rows read n/a" >&2
# Both peers call `sasquatch` for SquashFS; give them unsquashfs under that name.
mkdir -p "$work/shim"
cat > "$work/shim/sasquatch" <<'SH'
#!/bin/sh
# sasquatch's flags that unsquashfs lacks (-le/-be/-no-exit-code) are dropped.
for a; do shift; case $a in -le|-be|-no-exit-code) ;; *) set -- "$@" "$a" ;; esac; done
exec unsquashfs -no-progress "$@"
SH
chmod +x "$work/shim/sasquatch"
export PATH="$work/shim:$venv/bin:$PATH"
root=$work/bigroot
mkdir -p "$root"
for d in "$debs"/*.deb; do dpkg-deb -x "$d" "$root"; done
mksquashfs "$root" "$work/big.sqfs" -comp xz -noappend -all-root -no-progress -quiet >/dev/null
mkimage -A arm -O linux -T filesystem -C none -n rootfs -d "$work/big.sqfs" "$work/big.bin" >/dev/null
# An eMMC-sized dump: the image, then erased flash to 2 GiB.
cp "$work/big.bin" "$work/huge.bin"
python3 - "$work/huge.bin" <<'PY'
import sys
with open(sys.argv[1], 'ab') as f:
    block = b'\xff' * (1 << 20)
    while f.tell() < (2 << 30):
        f.write(block[: (2 << 30) - f.tell()])
PY
rm -rf "$work/ref" && unsquashfs -no-progress -q -d "$work/ref" "$work/big.sqfs" >/dev/null
find "$work/ref" -type f -exec sha256sum {} + | awk '{print $1}' | sort > "$work/ref.sums"
echo
echo "big.bin: $(du -m "$work/big.bin" | cut -f1) MiB uImage, SquashFS xz of $(wc -l < "$work/ref.sums") files ($(du -sm "$work/ref" | cut -f1) MiB); huge.bin: the same padded with 0xff to 2 GiB"
printf '| %-9s | %-40s | %11s | %9s | %7s | %14s |\n' image tool "median s" "peak MiB" files "unsquashfs's"
printf '|%s|%s|%s|%s|%s|%s|\n' ----------- ------------------------------------------ ------------- ----------- --------- ----------------
row() { # image label outdir command...
  local image=$1 label=$2 dir=$3; shift 3
  local cmd="rm -rf $work/o $work/b $work/u $work/ev; $*"
  # The 2 GiB image shows memory; one timed run of it is enough (HUGE_RUNS=n for more).
  local runs=${BIG_RUNS:-3}
  [ "$image" = huge ] && runs=${HUGE_RUNS:-1}
  hyperfine --style none --ignore-failure --runs "$runs" --export-json "$work/h.json" "$cmd" >/dev/null 2>&1
  local t m n same
  t=$(python3 -c 'import json,sys; print("%.2f" % json.load(open(sys.argv[1]))["results"][0]["median"])' "$work/h.json")
  /usr/bin/time -f "%M" -o "$work/t" bash -c "$cmd" >/dev/null 2>&1 || true
  m=$(echo "$(tail -1 "$work/t")/1024" | bc)
  n=- same=-
  if [ -d "$dir" ]; then
    n=$(find "$dir" -type f | wc -l)
    same=$(find "$dir" -type f -exec sha256sum {} + | awk '{print $1}' | sort | comm -12 - "$work/ref.sums" | wc -l)
  fi
  printf '| %-9s | %-40s | %11s | %9s | %7s | %14s |\n' "$image" "$label" "$t" "$m" "$n" "$same"
}
for image in big huge; do
  img=$work/$image.bin
  row "$image" "fwgate unpack -o DIR" "$work/o" "$fw unpack $img -o $work/o"
  row "$image" "fwgate gate (unpack + every check)" "$work/no-output" "$fw gate $img --evidence $work/ev"
  [ -x "$tools/bin/binwalk" ] && row "$image" "binwalk-ng $("$tools/bin/binwalk" --version 2>/dev/null | awk '{print $NF}') -Me" "$work/b" "cd $work && $tools/bin/binwalk -q -M -e -d $work/b $img"
  command -v unblob >/dev/null && row "$image" "unblob $(unblob --version 2>/dev/null | awk '{print $NF}')" "$work/u" "unblob -e $work/u $img"
done
row big "unsquashfs (the SquashFS alone)" "$work/u" "unsquashfs -no-progress -q -d $work/u $work/big.sqfs"
fi
