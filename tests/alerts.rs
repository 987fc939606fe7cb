//! Alert rules: committed files are current, real promtool accepts and
//! unit-tests them, Grafana's provisioning shape holds, runbooks exist.

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
    assert!(out.contains("SUCCESS: 7 rules found"), "{out}");
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

#[test]
fn grafana_rules_follow_the_provisioning_format() {
    let text = std::fs::read_to_string(Path::new(ROOT).join(alerts::GRAFANA_RULES)).expect("read");
    let doc: serde_json::Value = serde_yaml::from_str(&text).expect("yaml");
    assert_eq!(doc["apiVersion"], 1);
    let groups = doc["groups"].as_array().expect("groups");
    assert!(!groups.is_empty());
    let mut uids = std::collections::HashSet::new();
    for g in groups {
        assert!(g["name"].is_string() && g["folder"].is_string() && g["interval"].is_string());
        for r in g["rules"].as_array().expect("rules") {
            let uid = r["uid"].as_str().expect("uid");
            assert!(
                uid.len() <= 40
                    && uid
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            );
            assert!(uids.insert(uid.to_string()), "duplicate uid {uid}");
            assert!(r["title"].is_string());
            let data = r["data"].as_array().expect("data");
            let refs: Vec<&str> = data.iter().filter_map(|d| d["refId"].as_str()).collect();
            assert!(refs.contains(&r["condition"].as_str().expect("condition")));
            for d in data {
                assert!(d["datasourceUid"].is_string() && d["model"].is_object());
                assert_eq!(d["model"]["refId"], d["refId"]);
            }
            let expr = data[0]["model"]["expr"].as_str().expect("expr");
            promql_parser::parser::parse(expr).unwrap_or_else(|e| panic!("{uid}: {e}"));
            assert!(r["for"].is_string());
            assert!(r["labels"]["severity"].is_string());
            for key in ["summary", "description", "runbook_url"] {
                assert!(r["annotations"][key].is_string(), "{uid} lacks {key}");
            }
        }
    }
    assert_eq!(uids.len(), alerts::rules(&AlertConfig::default()).len());
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
