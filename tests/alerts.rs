//! Alert rules: committed files are current, real promtool accepts and
//! unit-tests them, Grafana's provisioning shape holds, runbooks exist.

use serde_json::json;
use std::path::Path;
use std::process::Command;
use vllm_grafana::alerts::{self, AlertConfig};
use vllm_grafana::catalog;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn promtool(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("promtool must be installed (Debian package `prometheus`; .ci/run installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn committed_rule_files_are_current() {
    let cfg = AlertConfig::default();
    if std::env::var_os("UPDATE_ALERTS").is_some() {
        alerts::write_all(Path::new(ROOT), &cfg).expect("write");
    }
    alerts::check_all(Path::new(ROOT), &cfg).expect("run `vllm-grafana alerts` to regenerate");
}

#[test]
fn promtool_checks_and_unit_tests_pass() {
    let dir = Path::new(ROOT).join("prometheus");
    let (ok, out) = promtool(&dir, &["check", "rules", "rules.yml"]);
    assert!(ok, "{out}");
    assert!(out.contains("SUCCESS: 9 rules found"), "{out}");
    let (ok, out) = promtool(&dir, &["test", "rules", "rules.test.yml"]);
    assert!(ok, "{out}");
    let (ok, out) = promtool(&dir, &["check", "config", "prometheus.yml"]);
    assert!(ok, "{out}");
}

#[test]
fn promtool_unit_tests_catch_a_wrong_threshold() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cfg = AlertConfig::default();
    let rules = alerts::prometheus_rules_yaml(&cfg)
        .expect("rules")
        .replacen("> 10\n", "> 100\n", 1);
    std::fs::write(tmp.path().join("rules.yml"), rules).expect("write");
    std::fs::write(
        tmp.path().join("rules.test.yml"),
        alerts::promtool_tests_yaml(&cfg).expect("tests"),
    )
    .expect("write");
    let (ok, out) = promtool(tmp.path(), &["test", "rules", "rules.test.yml"]);
    assert!(
        !ok,
        "a queue threshold of 100 must fail the firing case:\n{out}"
    );
    assert!(out.contains("VllmHighRequestQueue"), "{out}");
}

/// A Prometheus-style duration (`1m`, `1h30m`, `500ms`) in milliseconds.
fn duration_ms(text: &str) -> Option<u64> {
    let units = [
        ("ms", 1),
        ("s", 1_000),
        ("m", 60_000),
        ("h", 3_600_000),
        ("d", 86_400_000),
        ("w", 604_800_000),
        ("y", 31_536_000_000),
    ];
    let mut rest = text;
    let mut total = 0u64;
    while !rest.is_empty() {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        let n: u64 = rest.get(..digits)?.parse().ok()?;
        rest = &rest[digits..];
        let (unit, scale) = units
            .iter()
            .filter(|(u, _)| rest.starts_with(u))
            .max_by_key(|(u, _)| u.len())?;
        rest = &rest[unit.len()..];
        total = total.checked_add(n.checked_mul(*scale)?)?;
    }
    (!text.is_empty()).then_some(total)
}

/// `uid`s of every datasource under provisioning/datasources/.
fn provisioned_datasource_uids() -> Vec<String> {
    let dir = Path::new(ROOT).join("provisioning/datasources");
    let mut uids = Vec::new();
    for entry in std::fs::read_dir(dir).expect("datasources dir").flatten() {
        let text = std::fs::read_to_string(entry.path()).expect("read");
        let doc: serde_json::Value = serde_yaml::from_str(&text).expect("yaml");
        for ds in doc["datasources"].as_array().into_iter().flatten() {
            if let Some(uid) = ds["uid"].as_str() {
                uids.push(uid.to_string());
            }
        }
    }
    uids
}

const EXPR_UIDS: [&str; 2] = ["__expr__", "-100"];
const REDUCERS: [&str; 7] = ["last", "mean", "min", "max", "sum", "count", "median"];
const THRESHOLDS: [&str; 10] = [
    "gt",
    "lt",
    "eq",
    "ne",
    "gte",
    "lte",
    "within_range",
    "outside_range",
    "within_range_included",
    "outside_range_included",
];

/// Problems Grafana's alert-rule file provisioning would report, or that
/// would make a rule fail at evaluation (`pkg/services/provisioning/
/// alerting/rules_types.go`, `pkg/services/ngalert/models/alert_query.go`,
/// `pkg/expr`).
fn provisioning_problems(doc: &serde_json::Value, datasources: &[String]) -> Vec<String> {
    use serde_json::Value;
    let mut problems = Vec::new();
    let mut bad = |p: String| problems.push(p);
    if doc["apiVersion"] != 1 {
        bad(format!("apiVersion must be 1, got {}", doc["apiVersion"]));
    }
    let Some(groups) = doc["groups"].as_array().filter(|g| !g.is_empty()) else {
        bad("no groups".into());
        return problems;
    };
    let mut uids = std::collections::HashSet::new();
    for g in groups {
        let name = g["name"].as_str().unwrap_or("");
        if name.trim().is_empty() {
            bad("a group has no name".into());
        }
        if g["folder"].as_str().is_none_or(|f| f.trim().is_empty()) {
            bad(format!("group {name}: no folder"));
        }
        if g["orgId"].as_i64().is_none_or(|o| o < 1) {
            bad(format!("group {name}: orgId must be a positive integer"));
        }
        match g["interval"].as_str().and_then(duration_ms) {
            Some(ms) if ms > 0 && ms % 10_000 == 0 => {}
            _ => bad(format!(
                "group {name}: interval {} is not a positive multiple of 10s",
                g["interval"]
            )),
        }
        let Some(rules) = g["rules"].as_array().filter(|r| !r.is_empty()) else {
            bad(format!("group {name}: no rules"));
            continue;
        };
        for r in rules {
            let title = r["title"].as_str().unwrap_or("");
            let at = |what: &str| format!("{title}: {what}");
            if title.trim().is_empty() {
                bad("a rule has no title".into());
            }
            match r["uid"].as_str() {
                Some(uid)
                    if (1..=40).contains(&uid.len())
                        && uid
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
                {
                    if !uids.insert(uid.to_string()) {
                        bad(at(&format!("duplicate uid {uid}")));
                    }
                }
                other => bad(at(&format!("invalid uid {other:?}"))),
            }
            if r["for"].as_str().and_then(duration_ms).is_none() {
                bad(at(&format!("for {} is not a duration", r["for"])));
            }
            if !["Alerting", "NoData", "OK", "KeepLast"]
                .contains(&r["noDataState"].as_str().unwrap_or(""))
            {
                bad(at(&format!("noDataState {}", r["noDataState"])));
            }
            if !["Alerting", "Error", "OK", "KeepLast"]
                .contains(&r["execErrState"].as_str().unwrap_or(""))
            {
                bad(at(&format!("execErrState {}", r["execErrState"])));
            }
            for key in ["labels", "annotations"] {
                let ok = r[key]
                    .as_object()
                    .is_some_and(|m| m.values().all(Value::is_string));
                if !ok {
                    bad(at(&format!("{key} must map strings to strings")));
                }
            }
            // Provisioning expands environment variables in labels (not in
            // annotations): a `$` there would be replaced.
            if r["labels"].as_object().is_some_and(|m| {
                m.values()
                    .any(|v| v.as_str().is_some_and(|v| v.contains('$')))
            }) {
                bad(at("labels must not contain `$` (provisioning expands it)"));
            }
            if !r["isPaused"].is_null() && !r["isPaused"].is_boolean() {
                bad(at("isPaused must be a boolean"));
            }
            let Some(data) = r["data"].as_array().filter(|d| !d.is_empty()) else {
                bad(at("no data"));
                continue;
            };
            let refs: Vec<&str> = data.iter().filter_map(|d| d["refId"].as_str()).collect();
            if refs.len() != data.len() || refs.iter().any(|r| r.is_empty()) {
                bad(at("every data entry needs a refId"));
            }
            let distinct: std::collections::HashSet<&&str> = refs.iter().collect();
            if distinct.len() != refs.len() {
                bad(at("duplicate refIds"));
            }
            let condition = r["condition"].as_str().unwrap_or("");
            if !refs.contains(&condition) {
                bad(at(&format!(
                    "condition {condition:?} is not a refId of data"
                )));
            }
            // Expression inputs, to find references to nothing and cycles.
            let mut inputs: std::collections::HashMap<&str, Vec<String>> = Default::default();
            for d in data {
                let ref_id = d["refId"].as_str().unwrap_or("");
                let here = |what: &str| at(&format!("{ref_id}: {what}"));
                let m = &d["model"];
                if !m.is_object() {
                    bad(here("model must be an object"));
                    continue;
                }
                if !m["refId"].is_null() && m["refId"] != d["refId"] {
                    bad(here("model.refId differs from refId"));
                }
                let from = d["relativeTimeRange"]["from"].as_i64();
                let to = d["relativeTimeRange"]["to"].as_i64();
                let uid = d["datasourceUid"].as_str().unwrap_or("");
                if EXPR_UIDS.contains(&uid) {
                    let input = m["expression"].as_str().unwrap_or("");
                    let mut needs = Vec::new();
                    match m["type"].as_str().unwrap_or("") {
                        "reduce" => {
                            needs.push(input.trim_start_matches('$').to_string());
                            if !REDUCERS.contains(&m["reducer"].as_str().unwrap_or("")) {
                                bad(here(&format!("reducer {}", m["reducer"])));
                            }
                            let mode = m["settings"]["mode"].as_str().unwrap_or("");
                            if !["", "dropNN", "replaceNN"].contains(&mode)
                                || (mode == "replaceNN"
                                    && !m["settings"]["replaceWithValue"].is_number())
                            {
                                bad(here(&format!("reduce settings {}", m["settings"])));
                            }
                        }
                        "threshold" => {
                            needs.push(input.trim_start_matches('$').to_string());
                            let conds =
                                m["conditions"].as_array().map(Vec::as_slice).unwrap_or(&[]);
                            if conds.len() != 1 {
                                bad(here("a threshold needs exactly one condition"));
                            }
                            for c in conds {
                                let kind = c["evaluator"]["type"].as_str().unwrap_or("");
                                let params = c["evaluator"]["params"].as_array();
                                let need = if kind.contains("range") { 2 } else { 1 };
                                let ok = THRESHOLDS.contains(&kind)
                                    && params.is_some_and(|p| {
                                        p.len() >= need && p.iter().all(Value::is_number)
                                    });
                                if !ok {
                                    bad(here(&format!("threshold evaluator {}", c["evaluator"])));
                                }
                            }
                        }
                        "math" => {
                            for var in input
                                .split(|c: char| !(c.is_alphanumeric() || c == '$' || c == '_'))
                            {
                                if let Some(v) = var.strip_prefix('$') {
                                    needs.push(v.to_string());
                                }
                            }
                            if needs.is_empty() {
                                bad(here(&format!("math expression {input:?} uses no refId")));
                            }
                        }
                        other => bad(here(&format!("expression type {other:?}"))),
                    }
                    for n in &needs {
                        if !refs.contains(&n.as_str()) {
                            bad(here(&format!("refers to {n:?}, which is not a refId")));
                        }
                    }
                    inputs.insert(ref_id, needs);
                } else {
                    if !datasources.iter().any(|d| d == uid) {
                        bad(here(&format!("datasource {uid:?} is not provisioned")));
                    }
                    match (from, to) {
                        (Some(f), Some(t)) if f > t && t >= 0 => {}
                        _ => bad(here(&format!(
                            "relativeTimeRange {} must have from > to >= 0",
                            d["relativeTimeRange"]
                        ))),
                    }
                    match m["expr"].as_str() {
                        Some(e) => {
                            if let Err(err) = promql_parser::parser::parse(e) {
                                bad(here(&format!("PromQL does not parse: {err}")));
                            }
                        }
                        None => bad(here("no expr")),
                    }
                    if m["instant"] != true {
                        bad(here("alert queries are instant (numbers, not series)"));
                    }
                }
            }
            // Expressions must not depend on themselves.
            for start in inputs.keys() {
                let mut frontier = vec![start.to_string()];
                for _ in 0..=data.len() {
                    frontier = frontier
                        .iter()
                        .flat_map(|r| inputs.get(r.as_str()).cloned().unwrap_or_default())
                        .collect();
                }
                if !frontier.is_empty() {
                    bad(at(&format!("expression cycle through {start}")));
                }
            }
        }
    }
    problems
}

#[test]
fn grafana_rules_follow_the_provisioning_format() {
    let text = std::fs::read_to_string(Path::new(ROOT).join(alerts::GRAFANA_RULES)).expect("read");
    let doc: serde_json::Value = serde_yaml::from_str(&text).expect("yaml");
    let datasources = provisioned_datasource_uids();
    let problems = provisioning_problems(&doc, &datasources);
    assert!(problems.is_empty(), "{problems:#?}");

    // The same alerts as rules.yml: names, `for`, labels, query, threshold.
    let cfg = AlertConfig::default();
    let rules = alerts::rules(&cfg);
    let grafana: Vec<&serde_json::Value> = doc["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| g["rules"].as_array().into_iter().flatten())
        .collect();
    assert_eq!(grafana.len(), rules.len());
    for rule in &rules {
        let g = grafana
            .iter()
            .find(|g| g["title"] == rule.name)
            .unwrap_or_else(|| panic!("{} missing from {}", rule.name, alerts::GRAFANA_RULES));
        assert_eq!(g["for"], rule.for_, "{}", rule.name);
        assert_eq!(
            g["labels"]["severity"],
            json!(rule.severity),
            "{}",
            rule.name
        );
        for key in ["summary", "description", "runbook_url"] {
            assert!(
                g["annotations"][key].is_string(),
                "{} lacks {key}",
                rule.name
            );
        }
        let data = g["data"].as_array().expect("data");
        let query = data
            .iter()
            .find(|d| !EXPR_UIDS.contains(&d["datasourceUid"].as_str().unwrap_or("")))
            .expect("a data query");
        assert_eq!(query["datasourceUid"], alerts::GRAFANA_DATASOURCE_UID);
        assert_eq!(query["model"]["expr"], rule.query(&cfg), "{}", rule.name);
        let cond = data
            .iter()
            .find(|d| d["refId"] == g["condition"])
            .expect("condition node");
        let evaluator = &cond["model"]["conditions"][0]["evaluator"];
        let expected = match rule.cmp.as_str() {
            ">" => "gt",
            "<" => "lt",
            ">=" => "gte",
            "<=" => "lte",
            "==" => "eq",
            _ => "ne",
        };
        assert_eq!(cond["model"]["type"], "threshold", "{}", rule.name);
        assert_eq!(cond["model"]["expression"], query["refId"], "{}", rule.name);
        assert_eq!(evaluator["type"], expected, "{}", rule.name);
        assert_eq!(
            evaluator["params"],
            json!([rule.threshold]),
            "{}",
            rule.name
        );
    }
}

#[test]
fn the_provisioning_check_catches_broken_rules() {
    let text = std::fs::read_to_string(Path::new(ROOT).join(alerts::GRAFANA_RULES)).expect("read");
    let doc: serde_json::Value = serde_yaml::from_str(&text).expect("yaml");
    let datasources = provisioned_datasource_uids();
    type Breakage = (&'static str, fn(&mut serde_json::Value), &'static str);
    let breakages: [Breakage; 10] = [
        (
            "label template",
            |r| r["labels"]["team"] = json!("{{ $labels.team }}"),
            "labels must not",
        ),
        ("condition", |r| r["condition"] = json!("Z"), "condition"),
        (
            "threshold input",
            |r| r["data"][1]["model"]["expression"] = json!("Q"),
            "refers to",
        ),
        (
            "evaluator",
            |r| r["data"][1]["model"]["conditions"][0]["evaluator"]["type"] = json!("above"),
            "threshold evaluator",
        ),
        (
            "two conditions",
            |r| {
                let c = r["data"][1]["model"]["conditions"][0].clone();
                r["data"][1]["model"]["conditions"] = json!([c.clone(), c]);
            },
            "exactly one condition",
        ),
        (
            "time range",
            |r| r["data"][0]["relativeTimeRange"] = json!({"from": 0, "to": 0}),
            "relativeTimeRange",
        ),
        (
            "datasource",
            |r| r["data"][0]["datasourceUid"] = json!("nope"),
            "not provisioned",
        ),
        (
            "noDataState",
            |r| r["noDataState"] = json!("Fine"),
            "noDataState",
        ),
        (
            "for",
            |r| r["for"] = json!("five minutes"),
            "not a duration",
        ),
        (
            "cycle",
            |r| {
                r["data"][1]["model"]["expression"] = json!("D");
                r["data"]
                .as_array_mut()
                .expect("data")
                .push(json!({"refId": "D", "datasourceUid": "__expr__", "relativeTimeRange": {"from": 0, "to": 0},
                    "model": {"refId": "D", "type": "math", "expression": "$C * 2"}}));
            },
            "cycle",
        ),
    ];
    for (what, breakage, expected) in breakages {
        let mut broken = doc.clone();
        breakage(&mut broken["groups"][0]["rules"][0]);
        let problems = provisioning_problems(&broken, &datasources);
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "{what}: expected a problem mentioning {expected:?}, got {problems:#?}"
        );
    }
    let mut bad_interval = doc.clone();
    bad_interval["groups"][0]["interval"] = json!("15s");
    assert!(!provisioning_problems(&bad_interval, &datasources).is_empty());
}

#[test]
fn the_stack_provisions_the_grafana_rules_and_their_datasource() {
    let compose: serde_json::Value = serde_yaml::from_str(
        &std::fs::read_to_string(Path::new(ROOT).join("docker-compose.yml")).expect("compose"),
    )
    .expect("yaml");
    let mounts: Vec<&str> = compose["services"]["grafana"]["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(
        mounts.contains(&"./provisioning/alerting:/etc/grafana/provisioning/alerting:ro"),
        "{mounts:?}"
    );
    assert!(provisioned_datasource_uids().contains(&alerts::GRAFANA_DATASOURCE_UID.to_string()));
}

#[test]
fn rule_metrics_exist_in_the_catalog_and_runbooks_in_the_readme() {
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).expect("README");
    let cfg = AlertConfig::default();
    for rule in alerts::rules(&cfg) {
        let expr = promql_parser::parser::parse(&rule.expr(&cfg)).expect("parses");
        let names = vllm_grafana::promql::inspect::metric_names(&expr);
        assert!(!names.is_empty());
        for n in names {
            let known = catalog::lookup(&n).is_some()
                || catalog::dcgm::lookup(&n).is_some()
                || vllm_grafana::promql::SCRAPE_SERIES.contains(&n.as_str());
            assert!(known, "{}: {n} is not in the catalog", rule.name);
        }
        assert!(
            readme.contains(&format!("### {}", rule.name)),
            "README lacks a runbook section for {}",
            rule.name
        );
    }
}
