#!/usr/bin/env python3
"""Validates CycloneDX JSON files against the official 1.6 schema (cyclonedx-python-lib's
strict validator), then checks the fields BSI TR-03183-2 v2.1 requires of an SBOM.

Usage: cdx_validate.py [--vex] FILE...   Exit 0 when every file passes; prints each failure.
With --vex the files are VEX documents: schema only (the BSI fields are an SBOM's)."""
import json
import sys

from cyclonedx.schema import OutputFormat, SchemaVersion
from cyclonedx.validation import make_schemabased_validator

BSI_PROPS = ("bsi:component:filename", "bsi:component:executable",
             "bsi:component:archive", "bsi:component:structured")


def bsi_problems(doc):
    out = []
    md = doc.get("metadata", {})
    if not md.get("timestamp"):
        out.append("metadata.timestamp missing")
    man = md.get("manufacturer") or {}
    if not man.get("name") or not (man.get("url") or man.get("contact")):
        out.append("metadata.manufacturer needs a name and a url or contact e-mail")
    if not md.get("component"):
        out.append("metadata.component (the primary component) missing")
    comps = [md.get("component", {})] + doc.get("components", [])
    for c in comps:
        ref = c.get("bom-ref", c.get("name"))
        props = {}
        for p in c.get("properties", []):
            props.setdefault(p["name"], []).append(p["value"])
        for name in BSI_PROPS:
            if len(props.get(name, [])) != 1:
                out.append(f"{ref}: {name} must occur exactly once")
        if not c.get("name"):
            out.append(f"{ref}: no name")
        if c is not comps[0]:
            if not c.get("purl"):
                out.append(f"{ref}: no purl")
            if not c.get("supplier", {}).get("name"):
                out.append(f"{ref}: no supplier")
            files = props.get("fwgate:file")
            if files and not any(h["alg"] == "SHA-512" for h in c.get("hashes", [])):
                out.append(f"{ref}: a deployable file without its SHA-512")
            if "version" not in c and "fwgate:version" not in props:
                out.append(f"{ref}: no version and no reason")
    if "vulnerabilities" in doc:
        out.append("the SBOM holds vulnerability data (TR-03183-2 section 3.1)")
    refs = {c.get("bom-ref") for c in comps}
    deps = {d["ref"] for d in doc.get("dependencies", [])}
    if refs - deps:
        out.append(f"components without a dependencies entry: {sorted(refs - deps)}")
    if not doc.get("compositions"):
        out.append("no compositions (completeness of the dependencies)")
    return out


def main():
    validator = make_schemabased_validator(OutputFormat.JSON, SchemaVersion.V1_6)
    bad = 0
    args = sys.argv[1:]
    vex = "--vex" in args
    for path in [a for a in args if a != "--vex"]:
        text = open(path, encoding="utf-8").read()
        doc = json.loads(text)
        errors = validator.validate_str(text)
        problems = []
        if errors:
            problems.append(f"schema: {str(errors)[:400]}")
        if doc.get("specVersion") != "1.6":
            problems.append(f"specVersion is {doc.get('specVersion')!r}")
        if not vex:
            problems += bsi_problems(doc)
        for p in problems:
            print(f"{path}: {p}")
        bad += bool(problems)
        if not problems:
            print(f"{path}: valid CycloneDX 1.6, BSI TR-03183-2 fields present "
                  f"({len(doc.get('components', []))} components)")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
