#!/usr/bin/env python3
"""Canonical JSON dump of a Prometheus text exposition, as parsed by
prometheus_client.parser.text_string_to_metric_families.

Usage: prom_dump.py FILE
       prom_dump.py --batch FILE...   (a JSON list, one entry per file; a
                                       file the parser rejects gives
                                       {"error": "..."} instead of failing)

Output (one JSON document on stdout):
  {"families": [{"name", "type", "help",
                 "samples": [{"name", "labels": [[k, v], ...] (sorted),
                              "value", "timestamp"}]}]}

Canonical forms shared with tests/parser_oracle.rs:
  - "type": "untyped" where prometheus_client says "unknown" (it renames it);
  - floats: "NaN", "+Inf", "-Inf", or "<sign><digits>e<exp>" with the
    shortest round-trip digits, no trailing zeros, value = digits * 10**exp;
  - "timestamp": the float of seconds prometheus_client stores, in the same
    float form, or null.
Names are left as prometheus_client reports them (counter families without
their "_total"); the Rust side applies that renaming to its own output.

Exit codes: 0 ok, 1 parse error (message on stderr), 3 prometheus_client
missing.
"""

import json
import math
import sys
from decimal import Decimal

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError as exc:  # pragma: no cover - environment problem
    sys.stderr.write(
        "prometheus_client is not installed for %s (%s); "
        "install it with `python3 -m pip install prometheus_client==0.26.0`\n"
        % (sys.executable, exc)
    )
    sys.exit(3)


def canon_float(v):
    v = float(v)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    sign, digits, exp = Decimal(repr(v)).normalize().as_tuple()
    return "%s%se%d" % ("-" if sign else "", "".join(map(str, digits)), exp)


def read(path):
    # newline="" keeps "\r" and lone "\n" exactly as in the file, like the
    # Rust side which reads the bytes unchanged.
    with open(path, encoding="utf-8", newline="") as f:
        return f.read()


def dump(text):
    out = []
    for fam in text_string_to_metric_families(text):
        out.append(
            {
                "name": fam.name,
                "type": "untyped" if fam.type == "unknown" else fam.type,
                "help": fam.documentation,
                "samples": [
                    {
                        "name": s.name,
                        "labels": sorted([k, v] for k, v in s.labels.items()),
                        "value": canon_float(s.value),
                        "timestamp": None
                        if s.timestamp is None
                        else canon_float(s.timestamp),
                    }
                    for s in fam.samples
                ],
            }
        )
    return {"families": out}


def main():
    args = sys.argv[1:]
    if args and args[0] == "--batch":
        results = []
        for path in args[1:]:
            try:
                results.append(dump(read(path)))
            except Exception as exc:  # the parser raises ValueError and others
                results.append({"error": repr(exc)})
        json.dump(results, sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
        return
    if len(args) != 1:
        sys.stderr.write("usage: prom_dump.py FILE | prom_dump.py --batch FILE...\n")
        sys.exit(2)
    try:
        result = dump(read(args[0]))
    except Exception as exc:  # the parser raises plain ValueError/IndexError
        sys.stderr.write("prometheus_client failed: %r\n" % (exc,))
        sys.exit(1)
    json.dump(result, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
