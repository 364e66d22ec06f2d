"""Verify fwgate's attestations with securesystemslib, a DSSE implementation fwgate's authors
did not write: every line of IMAGE.intoto.jsonl must be a DSSE envelope signed by the Ed25519
key in PUBLIC.pem, holding an in-toto Statement v1 about IMAGE's SHA-256.

Usage: python3 dsse_verify.py IMAGE.intoto.jsonl PUBLIC.pem IMAGE
Exit 0 and one "envelope N: OK TYPE" line per envelope; exit 1 naming what failed."""

import hashlib
import json
import sys

from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_public_key,
)
from securesystemslib.dsse import Envelope
from securesystemslib.signer import SSlibKey

jsonl, pem, image = sys.argv[1:4]
raw = load_pem_public_key(open(pem, "rb").read()).public_bytes(Encoding.Raw, PublicFormat.Raw)
with open(image, "rb") as f:
    sha = hashlib.file_digest(f, "sha256").hexdigest()
failed = False
for n, line in enumerate(open(jsonl), 1):
    if not line.strip():
        continue
    try:
        env = Envelope.from_dict(json.loads(line))
        keyids = list(env.signatures)
        if not keyids:
            raise ValueError("no signatures")
        key = SSlibKey(keyids[0], "ed25519", "ed25519", {"public": raw.hex()})
        env.verify([key], 1)
        if env.payload_type != "application/vnd.in-toto+json":
            raise ValueError(f"payloadType {env.payload_type}")
        st = json.loads(env.payload)
        if st.get("_type") != "https://in-toto.io/Statement/v1":
            raise ValueError(f"_type {st.get('_type')}")
        if not any(s["digest"].get("sha256") == sha for s in st["subject"]):
            raise ValueError(f"subject {st['subject']} is not {image} ({sha})")
        print(f"envelope {n}: OK {st['predicateType']}")
    except Exception as e:  # noqa: BLE001 - report every envelope's failure
        print(f"envelope {n}: FAILED {type(e).__name__}: {e}")
        failed = True
sys.exit(1 if failed else 0)
