#!/usr/bin/env bash
# Validates SARIF files with Microsoft's SARIF Multitool and the rules GitHub code scanning
# applies on upload (`--rule-kind "Gh;Sarif"`). Exit 0 only when the Multitool reports no
# error, warning or note on any file; every message is printed.
#   ci/sarif-validate.sh FILE.sarif...
# Needs Sarif.Multitool on PATH: npm install -g @microsoft/sarif-multitool, then link
# node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool into PATH (.ci/run does).
set -euo pipefail
[ "$#" -gt 0 ] || { echo "usage: $0 FILE.sarif..." >&2; exit 2; }
command -v Sarif.Multitool >/dev/null || { echo "sarif-validate: Sarif.Multitool is not on PATH (npm install -g @microsoft/sarif-multitool)" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
bad=0
for f in "$@"; do
  log="$out/$(basename "$f").validation.sarif"
  Sarif.Multitool validate "$f" --rule-kind "Gh;Sarif" -o "$log" >"$out/stdout" 2>&1 || { cat "$out/stdout"; bad=1; continue; }
  n=$(python3 - "$log" <<'PY'
import json, sys
log = json.load(open(sys.argv[1]))
results = [r for run in log.get("runs", []) for r in run.get("results", [])]
notes = [n for run in log.get("runs", []) for inv in run.get("invocations", [])
         for n in inv.get("toolExecutionNotifications", []) + inv.get("toolConfigurationNotifications", [])
         if n.get("level", "warning") in ("error", "warning")]
for r in results:
    m = r.get("message", {})
    print("  %s %s: %s" % (r.get("level", "warning"), r.get("ruleId"), m.get("text") or m.get("id")), file=sys.stderr)
for n in notes:
    print("  tool %s: %s" % (n.get("level"), n.get("message", {}).get("text")), file=sys.stderr)
print(len(results) + len(notes))
PY
)
  if [ "$n" -eq 0 ]; then
    echo "sarif-validate: $f: valid (SARIF 2.1.0 schema and GitHub ingestion rules)"
  else
    echo "sarif-validate: $f: $n problem(s)"; bad=1
  fi
done
exit "$bad"
