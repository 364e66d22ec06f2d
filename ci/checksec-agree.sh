#!/usr/bin/env bash
# ci/checksec-agree.sh DIR — `fwgate hardening` must agree with Debian's checksec (2.6) on
# every ELF file under DIR, for every property both report: relro, canary, nx, pie, rpath,
# runpath, symbols (fwgate's `stripped`, inverted) and fortify_source.
#
# Prints the agreement counts per property and per architecture, then every difference.
# Exit 0 when every difference is one of the deliberate ones below, 1 otherwise, 2 when a
# tool is missing or fails. The fortified / fortify-able counts are compared but only
# reported: checksec computes them against the host's libc.
#
# Deliberate differences. Each is accepted only when the script confirms its condition
# (from readelf, or from fwgate's own report), never on fwgate's word alone:
#   unknown   canary / fortify_source: fwgate says "unknown" (with a reason) where no symbol
#             could name the function: a stripped static binary, or one that imports nothing
#             (ld.so). checksec says "no", which it cannot know. Confirmed: readelf finds
#             no .symtab, no DT_NEEDED and no PT_INTERP, and fwgate gives a reason.
#   sstrip    canary / fortify_source on a file without section headers (sstrip): readelf
#             shows no symbols there, so checksec says "no"; fwgate reads the dynamic symbols
#             through PT_DYNAMIC, as the loader does. Confirmed: readelf finds no section
#             headers.
#   static    fortify_source on a static binary with a .symtab: checksec reads only .dynsym;
#             fwgate reads the .symtab, where a static binary's __*_chk functions are.
#             Confirmed: fwgate reports static, checksec reports symbols.
#   now       relro: DF_1_NOW alone (FLAGS_1 NOW, no BIND_NOW) binds at load time — glibc
#             treats it as BIND_NOW — so fwgate says "full"; checksec greps for BIND_NOW and
#             says "partial". Confirmed: readelf -d shows FLAGS_1 NOW and no BIND_NOW.
#   exstack   nx: a PT_GNU_STACK with PF_X but not both R and W still gives an executable
#             stack (the kernel looks at PF_X only); checksec greps for "RWE" and says "yes".
#             Confirmed: readelf's GNU_STACK flags hold E but not RWE.
#   pie       pie: an ET_DYN with FLAGS_1 PIE, or with PT_INTERP and no DT_SONAME, is an
#             executable even without DT_DEBUG (checksec's only test): fwgate "yes",
#             checksec "dso". Confirmed from readelf -d / -l.
#
# Usage: ci/checksec-agree.sh DIR        (FWGATE=path/to/fwgate to choose the binary;
#        CHECKSEC_JSON=FILE to reuse `checksec --format=json --dir=DIR` output saved earlier,
#        as checksec takes minutes on a thousand files)
set -euo pipefail
dir=${1:?usage: ci/checksec-agree.sh DIR}
dir=${dir%/}
here=$(cd "$(dirname "$0")/.." && pwd)
fw=${FWGATE:-}
if [ -z "$fw" ]; then
  # The newer of the release and debug builds.
  for c in "$here/target/release/fwgate" "$here/target/debug/fwgate"; do
    [ -x "$c" ] && { [ -z "$fw" ] || [ "$c" -nt "$fw" ]; } && fw=$c
  done
fi
[ -n "$fw" ] && [ -x "$fw" ] || { echo "checksec-agree: no fwgate binary (set FWGATE)" >&2; exit 2; }
for t in checksec readelf python3; do
  command -v "$t" >/dev/null || { echo "checksec-agree: $t is not installed" >&2; exit 2; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -n "${CHECKSEC_JSON:-}" ]; then
  cp "$CHECKSEC_JSON" "$work/checksec.json"
else
  checksec --format=json --dir="$dir" >"$work/checksec.json" || { echo "checksec-agree: checksec failed" >&2; exit 2; }
fi
"$fw" hardening "$dir" --format json >"$work/fwgate.json" || { echo "checksec-agree: fwgate failed" >&2; exit 2; }

python3 - "$dir" "$work/checksec.json" "$work/fwgate.json" <<'EOF'
import collections, json, re, subprocess, sys

root, cs_path, fw_path = sys.argv[1], sys.argv[2], sys.argv[3]
PROPS = ["relro", "canary", "nx", "pie", "rpath", "runpath", "symbols", "fortify_source"]

text = open(cs_path, encoding="utf-8", errors="replace").read()
try:
    cs = json.loads(text) if text.strip() else {}
except json.JSONDecodeError as e:
    print(f"checksec-agree: checksec's JSON does not parse: {e}", file=sys.stderr)
    sys.exit(2)
# checksec names each file by the directory as it was given, then the path inside.
base = cs.get("dir", {}).get("name", root)
cs = {k[len(base):]: v for k, v in cs.items() if k != "dir" and k.startswith(base + "/")}
fw = {r["path"]: r for r in json.load(open(fw_path, encoding="utf-8"))}

readelf_cache = {}
def readelf(path, opt):
    key = (path, opt)
    if key not in readelf_cache:
        out = subprocess.run(["readelf", "-W", opt, path], capture_output=True, text=True,
                             errors="replace")
        readelf_cache[key] = out.stdout
    return readelf_cache[key]

def explained(path, prop, c, f, row):
    """The name of the deliberate difference this is, when readelf/fwgate confirm it."""
    full = root + path
    if prop in ("canary", "fortify_source"):
        if f == "unknown" and c == "no" and row.get("reasons", {}).get(prop) \
                and " SYMTAB " not in readelf(full, "-S") \
                and "(NEEDED)" not in readelf(full, "-d") and "INTERP" not in readelf(full, "-l"):
            return "unknown"
        if f == "yes" and c == "no" and "There are no sections" in readelf(full, "-S"):
            return "sstrip"
        if prop == "fortify_source" and f == "yes" and c == "no" and row.get("static") \
                and row.get("symbols") == "yes":
            return "static"
    if prop == "relro" and f == "full" and c == "partial":
        d = readelf(full, "-d")
        if re.search(r"\(FLAGS_1\).*\bNOW\b", d) and "BIND_NOW" not in d:
            return "now"
    if prop == "nx" and f == "no" and c == "yes":
        stacks = [l for l in readelf(full, "-l").splitlines() if "GNU_STACK" in l]
        if stacks and any(re.search(r"\s[R ][W ]E\s", l) for l in stacks) \
                and not any("RWE" in l for l in stacks):
            return "exstack"
    if prop == "pie" and f == "yes" and c == "dso":
        d = readelf(full, "-d")
        if re.search(r"\(FLAGS_1\).*\bPIE\b", d) or \
                ("INTERP" in readelf(full, "-l") and "(SONAME)" not in d):
            return "pie"
    return None

agree = collections.Counter()
expl = collections.Counter()
differ = collections.Counter()
per_arch = collections.defaultdict(collections.Counter)
lines, bad = [], 0
counts_same = counts_total = 0

for path in sorted(set(cs) | set(fw)):
    if path not in fw:
        lines.append(f"  {path}: only checksec lists it"); bad += 1; continue
    if path not in cs:
        lines.append(f"  {path}: only fwgate lists it"); bad += 1; continue
    c_row, f_row = cs[path], fw[path]
    arch = f_row.get("arch", "?")
    per_arch[arch]["files"] += 1
    for prop in PROPS:
        c, f = c_row.get(prop), f_row.get(prop)
        if c == f:
            agree[prop] += 1; per_arch[arch][prop] += 1; continue
        why = explained(path, prop, c, f, f_row)
        if why:
            expl[prop] += 1; per_arch[arch][prop + "~"] += 1
            lines.append(f"  {path}: {prop}: checksec {c}, fwgate {f} (deliberate: {why})")
        else:
            differ[prop] += 1; bad += 1
            reason = f_row.get("reasons", {}).get(prop, "")
            lines.append(f"  {path}: {prop}: checksec {c}, fwgate {f} DISAGREE {reason}")
    counts_total += 1
    if str(f_row.get("fortified")) == c_row.get("fortified") and \
            str(f_row.get("fortifiable")) == c_row.get("fortify-able"):
        counts_same += 1

n = len(set(cs) & set(fw))
print(f"checksec-agree: {n} ELF files under {root}")
print(f"{'property':<15}{'agree':>7}{'deliberate':>12}{'disagree':>10}")
for p in PROPS:
    print(f"{p:<15}{agree[p]:>7}{expl[p]:>12}{differ[p]:>10}")
print(f"{'(fortified counts)':<15} {counts_same}/{counts_total} equal (informational: host libc)")
print()
print("per architecture: files, then agree[+deliberate] per property")
print(f"{'arch':<10}{'files':>6}" + "".join(f"{p[:8]:>10}" for p in PROPS))
for arch in sorted(per_arch):
    a = per_arch[arch]
    cells = "".join(
        f"{(str(a[p]) + ('+' + str(a[p + '~']) if a[p + '~'] else '')):>10}" for p in PROPS)
    print(f"{arch:<10}{a['files']:>6}{cells}")
if lines:
    print()
    print("differences:")
    print("\n".join(lines))
print()
print("checksec-agree: " + ("OK" if bad == 0 else f"{bad} unexplained difference(s)"))
sys.exit(1 if bad else 0)
EOF
