#!/usr/bin/env python3
"""Check azleak against other scanners' public test cases (../shared/peer-cases/*.jsonl).

Every Entra client-secret positive must be found (at any confidence; those whose checksum fails
at low), and no negative (of any family) may be reported at the default confidence. The other
Azure positives (storage, connection strings, DevOps, OpenAI, Search, App Configuration) are
counted and listed separately: found at any confidence (made-up ones at low); helpers skipped.
usage: check-peers.py PATH/TO/azleak PATH/TO/peer-cases
"""
import json
import pathlib
import subprocess
import sys
import tempfile

azleak, cases_dir = str(pathlib.Path(sys.argv[1]).resolve()), pathlib.Path(sys.argv[2])
cases = [json.loads(l) for f in sorted(cases_dir.glob("*.jsonl")) for l in f.open() if l.strip()]
with tempfile.TemporaryDirectory() as tmp:
    root = pathlib.Path(tmp)
    for c in cases:
        (root / f"{c['id']}.txt").write_text(c["text"])
    out = subprocess.run([azleak, "scan", "--format", "json", "--show-secrets", "--min-confidence", "low", "."],
                         cwd=root, capture_output=True, text=True)
    if out.returncode not in (0, 1):
        sys.exit(f"azleak failed ({out.returncode}): {out.stderr}")
    findings = json.loads(out.stdout)["findings"]
by_file = {}
for f in findings:
    by_file.setdefault(f["path"].removesuffix(".txt"), []).append(f)
rank = {"low": 0, "medium": 1, "high": 2}
bad = []
counts = {"positive": [0, 0], "negative": [0, 0], "azure": [0, 0]}
azure_missed = []
for c in cases:
    found = by_file.get(c["id"], [])
    if c["kind"] == "positive" and c["rule_family"].startswith("entra-client-secret"):
        counts["positive"][1] += 1
        hits = [f for f in found if c["secret"] in f["secret"] or f["secret"] in c["secret"]]
        if not hits:
            bad.append(f"MISSED   {c['id']}: {c['text'][:100]!r}")
            continue
        if c.get("checksum_valid") is False and any(rank[f["confidence"]] > 0 for f in hits):
            bad.append(f"TOO HIGH {c['id']}: checksum fails but reported at {hits[0]['confidence']}")
            continue
        counts["positive"][0] += 1
    elif c["kind"] == "positive":
        counts["azure"][1] += 1
        hits = [f for f in found if c["secret"] in f["secret"] or f["secret"] in c["secret"]]
        if hits:
            counts["azure"][0] += 1
        else:
            azure_missed.append(f"MISSED   {c['id']}: {c['text'][:100]!r}")
    elif c["kind"] == "negative":
        counts["negative"][1] += 1
        loud = [f for f in found if rank[f["confidence"]] >= 1]
        if loud:
            bad.append(f"REPORTED {c['id']}: {loud[0]['rule_id']} ({loud[0]['confidence']}) in {c['text'][:80]!r}")
            continue
        counts["negative"][0] += 1
print(f"peer cases: Entra positives found {counts['positive'][0]}/{counts['positive'][1]}, "
      f"negatives quiet at default confidence {counts['negative'][0]}/{counts['negative'][1]}")
print(f"peer cases: other Azure positives found {counts['azure'][0]}/{counts['azure'][1]} (any confidence)")
for b in bad + azure_missed:
    print("  " + b)
sys.exit(1 if bad else 0)
