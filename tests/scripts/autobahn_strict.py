"""Fails unless every case of an Autobahn report is strictly passed.

usage: autobahn_strict.py REPORTS/index.json [--no-unimplemented]

OK and INFORMATIONAL pass; NON-STRICT, FAILED, or any closing behaviour other than OK or
INFORMATIONAL do not, and with --no-unimplemented neither does UNIMPLEMENTED (for the
permessage-deflate cases, which a testee that never negotiates compression skips). Prints
the count and the cases that are not strict.
"""
import json
import sys

cases = next(iter(json.load(open(sys.argv[1])).values()))
bad = sorted(
    case
    for case, result in cases.items()
    if result["behavior"] in ("NON-STRICT", "FAILED")
    or (result["behavior"] == "UNIMPLEMENTED" and "--no-unimplemented" in sys.argv[2:])
    or result.get("behaviorClose") not in ("OK", "INFORMATIONAL")
)
print(f"strict check: {len(cases)} cases, {len(bad)} not strict: {' '.join(bad) or 'none'}")
sys.exit(1 if bad else 0)
