#!/usr/bin/env bash
# Benchmark: fwgate's scan and hardening report beside the peer tools, on the SAME unpacked trees.
# Prints a markdown table of wall time (median of runs, hyperfine), peak memory (GNU time, max RSS
# of the largest process) and what each tool reports.
#   trees:     hardened     `fwgate unpack firmware-samples/hardened.bin` (Debian armhf OpenSSH,
#                           Dropbear, BusyBox, glibc, libcrypto)
#              debian-bins  the .debs of ci/real-binaries.sh (same list, same cache $DEBS),
#                           extracted with dpkg-deb -x into one directory
#   secrets:   fwgate scan --format json (all rules, and the secret rules alone: keys, tokens,
#              passwords in files)  vs  detect-secrets scan --all-files
#   hardening: fwgate hardening --format json  vs  Debian's checksec.sh --dir  vs  checksec.rs -d
# RUNS=n runs of each fast tool (default 5), SLOW_RUNS=n of Debian's checksec (default 1: it takes
# minutes on the larger tree). FWGATE=path measures that binary instead of building one.
# Needs: hyperfine, GNU time, checksec, python3 (with venv), bc, dpkg-deb (apt-get install
# hyperfine time checksec python3-venv bc dpkg). detect-secrets (PyPI, into target/bench-venv) and
# checksec.rs (crates.io, into target/bench-tools) are installed when missing; a peer that cannot
# be installed is reported and its row reads n/a.
set -euo pipefail
cd "$(dirname "$0")/.."
for t in hyperfine /usr/bin/time checksec python3 bc dpkg-deb; do
  command -v "$t" >/dev/null || { echo "bench-scan.sh: $t is missing (apt-get install hyperfine time checksec python3-venv bc dpkg)" >&2; exit 2; }
done
fw=${FWGATE:-}
[ -n "$fw" ] || { cargo build --release --quiet; fw=$PWD/target/release/fwgate; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
runs=${RUNS:-5}
slow_runs=${SLOW_RUNS:-1}

# --- peers installed by the script ------------------------------------------------------------
venv=$PWD/target/bench-venv
ds=$venv/bin/detect-secrets
if [ ! -x "$ds" ]; then
  echo "bench-scan.sh: installing detect-secrets into $venv" >&2
  { python3 -m venv "$venv" && "$venv/bin/pip" install -q "detect-secrets==${DETECT_SECRETS_VERSION:-1.5.0}"; } >&2 ||
    echo "bench-scan.sh: could not install detect-secrets (PyPI unreachable or no python3-venv); its rows read n/a" >&2
fi
[ -x "$ds" ] || ds=
csrs=$PWD/target/bench-tools/bin/checksec
if [ ! -x "$csrs" ]; then
  echo "bench-scan.sh: installing checksec.rs into target/bench-tools" >&2
  cargo install checksec --version "${CHECKSEC_RS_VERSION:-0.0.9}" --locked --root "$PWD/target/bench-tools" >&2 ||
    echo "bench-scan.sh: could not install checksec.rs (crates.io unreachable?); its rows read n/a" >&2
fi
[ -x "$csrs" ] || csrs=

# --- helpers ---------------------------------------------------------------------------------
median_ms() { # runs warmup command... -> median wall time in ms
  local n=$1 w=$2; shift 2
  hyperfine --style none --ignore-failure --runs "$n" --warmup "$w" --export-json "$work/h.json" \
    "$*" >/dev/null 2>&1
  python3 -c 'import json,sys; print("%.1f" % (json.load(open(sys.argv[1]))["results"][0]["median"]*1000))' "$work/h.json"
}
peak_kib() { # command... -> max RSS in KiB; its stdout is left in $work/out for count()
  /usr/bin/time -f "%M" -o "$work/t" bash -c "$*" >"$work/out" 2>/dev/null || true
  tail -1 "$work/t"
}
count() { # kind -> what the run left in $work/out reports
  python3 - "$1" "$work/out" <<'PY'
import json, sys
kind, path = sys.argv[1], sys.argv[2]
try:
    d = json.load(open(path))
except Exception as e:
    print("unreadable output"); sys.exit()
if kind == "fwgate-scan":
    print("%d findings" % len(d["findings"]))
elif kind == "detect-secrets":
    print("%d results" % sum(len(v) for v in d["results"].values()))
elif kind == "fwgate-hardening":
    print("%d ELF" % len(d))
elif kind == "checksec-sh":
    print("%d ELF" % len([k for k in d if k != "dir"]))
elif kind == "checksec-rs":
    print("%d ELF" % len(d["binaries"]))
PY
}
files() { find "$1" -type f 2>/dev/null | wc -l; }
elfs() { # dir -> regular files starting with the ELF magic
  python3 - "$1" <<'PY'
import os, sys
n = 0
for root, _, names in os.walk(sys.argv[1]):
    for f in names:
        p = os.path.join(root, f)
        if os.path.isfile(p) and not os.path.islink(p):
            try:
                with open(p, "rb") as h:
                    n += h.read(4) == b"\x7fELF"
            except OSError:
                pass
print(n)
PY
}
row() { # tree tool work files reported median_ms peak_kib speed-up
  local mib=n/a
  [ "$7" = n/a ] || mib=$(printf '%.1f' "$(echo "$7/1024" | bc -l)")
  printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$2" "$3" "$4" "$5" "$6" "$mib" "$8"
}
speedup() { python3 -c 'import sys; print("%.1fx" % (float(sys.argv[2]) / float(sys.argv[1])))' "$1" "$2"; }
measure() { # tree tool work files kind runs warmup fw_ms command... (fw_ms "-" for fwgate's own rows)
  local tree=$1 tool=$2 what=$3 nf=$4 kind=$5 n=$6 w=$7 ref=$8; shift 8
  local t m c s=-
  t=$(median_ms "$n" "$w" "$@"); m=$(peak_kib "$@"); c=$(count "$kind")
  [ "$ref" = - ] || s=$(speedup "$ref" "$t")
  row "$tree" "$tool" "$what" "$nf" "$c" "$t" "$m" "$s"
  last_ms=$t
}

# --- trees -----------------------------------------------------------------------------------
"$fw" unpack firmware-samples/hardened.bin -o "$work/hardened" >/dev/null
trees=hardened
debs=${DEBS:-$PWD/target/real-binaries/debs}
mkdir -p "$debs"
pkgs=$(sed -n '/^pkgs="/,/"$/p' ci/real-binaries.sh | sed 's/^pkgs=//' | tr -d '"')
if [ -z "$(ls "$debs"/*.deb 2>/dev/null)" ] && [ "$(id -u)" -eq 0 ] && [ -n "$pkgs" ]; then
  for a in armhf mipsel arm64; do
    dpkg --print-foreign-architectures | grep -qx "$a" || dpkg --add-architecture "$a"
  done
  apt-get update -qq >/dev/null 2>&1 || apt-get update -qq >/dev/null 2>&1 || true
  (cd "$debs" && for p in $pkgs; do apt-get download -q "$p" >/dev/null 2>&1 || echo "bench-scan.sh: could not download $p" >&2; done)
fi
ndebs=$(ls "$debs"/*.deb 2>/dev/null | wc -l)
if [ "$ndebs" -gt 0 ]; then
  for d in "$debs"/*.deb; do dpkg-deb -x "$d" "$work/debian-bins"; done
  trees="$trees debian-bins"
else
  echo "bench-scan.sh: debian-bins skipped (no .debs in $debs and none could be downloaded)" >&2
fi

# The rules that do detect-secrets' job: keys, tokens and credentials written in files.
mkdir -p "$work/secret-rules/credentials"
cp -r rules/secrets rules/data "$work/secret-rules/"
cp rules/credentials/FWG-CRED-0{08,09,10,11,12}.toml "$work/secret-rules/credentials/"

echo "fwgate $("$fw" --version | awk '{print $NF}'), RUNS=$runs (Debian checksec: $slow_runs), $(nproc) cores"
for tree in $trees; do
  d=$work/$tree
  extra=; [ "$tree" = debian-bins ] && extra=", $ndebs packages"
  echo "- $tree: $(files "$d") files, $(elfs "$d") ELF, $(du -sm "$d" | cut -f1) MiB$extra"
done
echo
echo '| tree | tool | work | files | reports | median ms | peak MiB | fwgate speed-up |'
echo '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |'
for tree in $trees; do
  d=$work/$tree
  nf=$(files "$d")
  measure "$tree" "fwgate scan --format json" "all rules (cracking included)" "$nf" fwgate-scan "$runs" 1 - \
    "$fw scan $d --format json"
  # detect-secrets' work: secrets in files, no password cracking, no ELF or boot analysis.
  measure "$tree" "fwgate scan --rules (secret rules only)" "secrets" "$nf" fwgate-scan "$runs" 1 - \
    "$fw scan $d --rules $work/secret-rules --format json"
  ref=$last_ms
  if [ -n "$ds" ]; then
    measure "$tree" "detect-secrets $("$ds" --version) scan --all-files" "secrets" "$nf" detect-secrets "$runs" 1 "$ref" \
      "$ds scan --all-files $d"
  else
    row "$tree" "detect-secrets scan --all-files" "secrets" "$nf" n/a n/a n/a n/a
  fi
  measure "$tree" "fwgate hardening --format json" "hardening" "$nf" fwgate-hardening "$runs" 1 - \
    "$fw hardening $d --format json"
  ref=$last_ms
  measure "$tree" "checksec.sh $(checksec --version 2>/dev/null | head -1 | awk '{print $2}' | tr -d ,) (Debian) --dir" \
    "hardening" "$nf" checksec-sh "$slow_runs" 0 "$ref" "checksec --format=json --dir=$d"
  if [ -n "$csrs" ]; then
    measure "$tree" "checksec.rs $("$csrs" --version | awk '{print $NF}') -d -j" "hardening" "$nf" checksec-rs "$runs" 1 "$ref" \
      "$csrs -d $d -j"
  else
    row "$tree" "checksec.rs -d -j" "hardening" "$nf" n/a n/a n/a n/a
  fi
done
