#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into fuzz/corpus/<target>/.

Seeds come from the project's own files, so they follow them:
- exposition: the real vLLM captures in tests/fixtures/vllm-metrics/;
- eval: every PromQL expression of dashboards/*.json and prometheus/rules.yml
  (dashboard variables replaced as Grafana would), plus a few queries
  touching each supported construct;
- query: every panel target of the dashboards as a DataQuery JSON, with
  and without a `#!` header setting the time range and interval;
- settings: the provisioned datasources' jsonData and the shapes the tests
  use, with secure fields in a `#!` header.
See src/fuzzing.rs for the input formats. Standard library only.
"""

import hashlib
import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "fuzz" / "corpus"


def write(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def header(obj):
    return "#!" + json.dumps(obj, separators=(",", ":")) + "\n"


def walk(node, found):
    """Every panel target (a dict with an `expr`) in a dashboard."""
    if isinstance(node, dict):
        if isinstance(node.get("expr"), str):
            found.append(node)
        for v in node.values():
            walk(v, found)
    elif isinstance(node, list):
        for v in node:
            walk(v, found)


VARIABLES = {
    "__rate_interval": "1m",
    "__interval": "1m",
    "__range": "1h",
    "ttft_slo": "0.5",
    "itl_slo": "0.05",
}


def substitute(expr):
    """Dashboard variables as Grafana replaces them (all values selected)."""
    def repl(m):
        name = m.group(1) or m.group(2)
        return VARIABLES.get(name, ".*")
    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", repl, expr)


def rule_exprs(text):
    """`expr:` values of a rules file (plain, single- or double-quoted)."""
    out = []
    for m in re.finditer(r"^\s*expr:\s*(.+?)\s*$", text, re.M):
        v = m.group(1)
        if v.startswith('"'):
            v = json.loads(v)
        elif v.startswith("'"):
            v = v[1:-1].replace("''", "'")
        out.append(v)
    return out


def main():
    for p in sorted((ROOT / "tests/fixtures/vllm-metrics").glob("*.txt")):
        text = p.read_text()
        write("exposition", text)
        # A short head of each capture mutates faster than the whole page.
        write("exposition", "\n".join(text.splitlines()[:40]) + "\n")

    targets = []
    for p in sorted((ROOT / "dashboards").glob("*.json")):
        walk(json.loads(p.read_text()), targets)
    exprs = [t["expr"] for t in targets]
    rules = ROOT / "prometheus/rules.yml"
    if rules.exists():
        exprs += rule_exprs(rules.read_text())
    exprs += [
        "up",
        "vllm:num_requests_running",
        'rate(vllm:prompt_tokens_total{job="vllm"}[1m] offset 30s)',
        "histogram_quantile(0.9, sum by (le) (rate(vllm:e2e_request_latency_seconds_bucket[2m])))",
        "topk(3, sum without (instance) (vllm:num_requests_waiting))",
        'label_replace(up, "host", "$1", "instance", "(.*):.*")',
        "quantile_over_time(0.5, vllm:gpu_cache_usage_perc[5m]) > bool 0.1",
        "vllm:num_requests_running / on (instance) group_left vllm:num_requests_waiting",
        "absent(nonexistent) or vector(1) unless scalar(time())",
        "clamp(sort_desc(-vllm:num_requests_running), 0, 1)",
        "count_values(\"v\", up)",
        "vllm:num_requests_running[1m:15s]",
        "up @ 1700000000",
        '"a string"',
    ]
    for e in dict.fromkeys(substitute(e) for e in exprs):
        write("eval", e)

    seen = set()
    for t in targets:
        body = json.dumps(t, sort_keys=True)
        if body in seen:
            continue
        seen.add(body)
        write("query", body)
    write("query", header({"from": 1700000000000, "to": 1700000000000 + 6 * 3600 * 1000,
                           "intervalMs": 30000, "maxDataPoints": 500,
                           "scrapeInterval": "10s"})
          + json.dumps({"expr": "rate(up[$__rate_interval])", "interval": "$__interval",
                        "intervalFactor": 2, "utcOffsetSec": 3600, "range": True}))
    write("query", header({"intervalMs": 0, "maxDataPoints": 0, "scrapeInterval": "1m"})
          + json.dumps({"expr": "up[$__range]", "instant": True, "format": "table",
                        "intervalMs": 60000, "legendFormat": "{{instance}}"}))
    write("query", header({"noTimeRange": True}) + '{"expr": "up"}')
    write("query", '{"expr": "up", "format": "heatmap", "interval": "1h30m"}')

    settings = [
        ({"url": "http://prometheus:9090"}, {"timeInterval": "10s", "httpMethod": "POST"}),
        ({}, {"mode": "direct", "scrapeInterval": "10s",
              "targets": ["http://simulator:8000/metrics"]}),
        ({"url": "http://prometheus:9090"}, {"mode": "prometheus", "timeInterval": "10s"}),
        ({}, {"mode": "direct", "targets": ["10.0.0.5:8000", "https://h/metrics"],
              "scrapeInterval": "15s", "retention": "2h", "maxBodyBytes": 1048576,
              "seriesLimit": 5000, "scrapeTimeout": "5s"}),
        ({"url": "https://prom.example:9090/", "basicAuthEnabled": True,
          "basicAuthUser": "grafana", "secure": {"basicAuthPassword": "pw"}},
         {"timeout": 30, "httpMethod": "GET", "tlsSkipVerify": True}),
        ({"url": "https://prom.example", "secure": {
            "httpHeaderValue1": "Bearer t0ken",
            "tlsCACert": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"}},
         {"httpHeaderName1": "Authorization", "tlsAuthWithCACert": True,
          "timeInterval": "30s"}),
        ({"url": "ftp://x", "secure": {"tlsCACert": "not pem", "basicAuthPassword": "pw"}},
         {"mode": "scrape", "tlsSkipVerify": "yes", "timeout": "soon",
          "timeInterval": "often", "httpHeaderName1": "Bad Header", "httpMethod": "PUT"}),
    ]
    for head, json_data in settings:
        write("settings", header(head) + json.dumps(json_data))
    write("settings", "")
    write("settings", "[1, 2]")


if __name__ == "__main__":
    main()
