//! The generator configuration (`--config`), end to end through the CLI:
//! the Kubernetes example scopes every generated query, its rules pass
//! `promtool check rules` and the generated `promtool test rules`, its
//! kustomize tree renders, and a bad file is a usage error naming the key.

use promql_parser::parser::{Expr, LabelModifier};
use std::path::{Path, PathBuf};
use std::process::Command;
use vllm_grafana::alerts;
use vllm_grafana::dashboard::{self, DatasourceFlavor};
use vllm_grafana::generator_config;
use vllm_grafana::promql::inspect;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const EXAMPLE: &str = "deploy/vllm-grafana.kubernetes.yaml";

fn example() -> PathBuf {
    Path::new(ROOT).join(EXAMPLE)
}

fn cli(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vllm-grafana"))
        .args(args)
        .current_dir(ROOT)
        .output()
        .expect("run vllm-grafana");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn run(program: &str, args: &[&str], dir: &Path) -> String {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program} must be installed: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{program} {args:?}: {text}");
    text
}

/// What is wrong with one query under the example's scoping: a selector
/// without `namespace="inference"`, or `instance` used as a label.
fn scoping_problems(what: &str, expr: &str) -> Vec<String> {
    let parsed = match inspect::parse(expr) {
        Ok(p) => p,
        Err(e) => return vec![format!("{what}: does not parse: {e}: {expr}")],
    };
    let mut problems = Vec::new();
    for s in inspect::selectors(&parsed) {
        if s.matcher("namespace") != Some(("=", "inference")) {
            problems.push(format!("{what}: {} lacks the namespace matcher", s.name));
        }
        if s.matcher("instance").is_some() {
            problems.push(format!("{what}: {} matches on instance", s.name));
        }
    }
    inspect::walk(&parsed, &mut |e, _| {
        let labels = match e {
            Expr::Aggregate(a) => match &a.modifier {
                Some(LabelModifier::Include(l)) | Some(LabelModifier::Exclude(l)) => {
                    l.labels.clone()
                }
                None => Vec::new(),
            },
            Expr::Binary(b) => b
                .modifier
                .as_ref()
                .and_then(|m| m.matching.as_ref())
                .map(|m| match m {
                    LabelModifier::Include(l) | LabelModifier::Exclude(l) => l.labels.clone(),
                })
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        if labels.iter().any(|l| l == "instance") {
            problems.push(format!("{what}: groups by instance: {expr}"));
        }
    });
    problems
}

#[test]
fn the_kubernetes_example_scopes_every_query_rule_and_variable() {
    let cfg = generator_config::load(&example()).unwrap_or_else(|e| panic!("{e}"));
    let mut problems = Vec::new();
    let mut checked = 0;
    for flavor in DatasourceFlavor::ALL {
        for (name, d) in dashboard::all_scoped(flavor, cfg.scoping()) {
            for q in dashboard::panels_queries(&d) {
                checked += 1;
                problems.extend(scoping_problems(
                    &format!("{name} \"{}\" {}", q.panel_title, q.ref_id),
                    &q.expr,
                ));
            }
            for p in dashboard::panels(&d) {
                for t in &p.targets {
                    if t.legend_format.contains("{{instance}}") {
                        problems.push(format!(
                            "{name} \"{}\": legend {}",
                            p.title, t.legend_format
                        ));
                    }
                }
            }
            for v in d
                .templating
                .list
                .iter()
                .filter(|v| v.kind == vllm_grafana::dashboard::model::VariableKind::Query)
            {
                // `label_values(selector, label)`: the label must not be instance.
                let inner = v.query.trim_start_matches("label_values(");
                let (selector, label) = inner.rsplit_once(',').expect("two arguments");
                problems.extend(scoping_problems(
                    &format!("{name} variable {}", v.name),
                    selector,
                ));
                if label.trim().trim_end_matches(')') == "instance" {
                    problems.push(format!("{name} variable {} lists instance", v.name));
                }
            }
        }
    }
    for rule in alerts::rules(&cfg.alerts) {
        checked += 1;
        problems.extend(scoping_problems(rule.name, &rule.expr(&cfg.alerts)));
        let description = rule.description_template(&cfg.alerts, "$value");
        if description.contains("$labels.instance") {
            problems.push(format!("{}: {description}", rule.name));
        }
    }
    assert!(checked > 100, "only {checked} queries");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_example_rules_pass_promtool_and_say_what_was_configured() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().to_str().expect("utf-8 path");
    let (code, text) = cli(&["alerts", "--root", root, "--config", EXAMPLE]);
    assert_eq!(code, 0, "{text}");
    let prom = tmp.path().join("prometheus");
    run("promtool", &["check", "rules", "rules.yml"], &prom);
    let tested = run("promtool", &["test", "rules", "rules.test.yml"], &prom);
    assert!(tested.contains("SUCCESS"), "{tested}");

    let rules = std::fs::read_to_string(prom.join("rules.yml")).expect("rules");
    assert!(rules.contains("namespace=\"inference\""), "{rules}");
    assert!(rules.contains("> 20"), "configured threshold: {rules}");
    assert!(rules.contains(
        "runbook_url: https://git.example.com/platform/vllm-grafana/-/blob/main/docs/runbooks.md#vllmhighrequestqueue"
    ));
    run("promtool", &["check", "rules", "recording.yml"], &prom);
    let recording = std::fs::read_to_string(prom.join("recording.yml")).expect("recording");
    assert!(
        recording.contains("sum by (job, pod, model_name, le, namespace)"),
        "recorded series keep the instance label and the matchers' labels: {recording}"
    );
    let tests = std::fs::read_to_string(prom.join("rules.test.yml")).expect("tests");
    assert!(
        tests.contains("# No cases for VllmHighRequestQueue"),
        "the overridden alert's cases are left out and the file says so"
    );
    assert!(tests.contains("pod: gpu-1:8000") || tests.contains("pod=\"gpu-1:8000\""));
    assert!(!tests.contains("VllmHighRequestQueue fires"));
    assert!(
        tests.contains("VllmTargetDown fires"),
        "severity-only override keeps the cases"
    );
    let grafana =
        std::fs::read_to_string(tmp.path().join(alerts::GRAFANA_RULES)).expect("grafana rules");
    assert!(
        grafana.contains("namespace=\\\"inference\\\"")
            || grafana.contains("namespace=\"inference\"")
    );
    assert!(grafana.contains("$labels.pod"), "{grafana}");
}

#[test]
fn the_example_kustomize_tree_renders_with_its_settings() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("tree");
    let out_s = out.to_str().expect("utf-8 path");
    let (code, text) = cli(&["kubernetes", "--out", out_s, "--config", EXAMPLE]);
    assert_eq!(code, 0, "{text}");
    let (code, text) = cli(&["kubernetes", "--out", out_s, "--config", EXAMPLE, "--check"]);
    assert_eq!(code, 0, "{text}");
    let (code, text) = cli(&["kubernetes", "--out", out_s, "--check"]);
    assert_ne!(
        code, 0,
        "the default config differs from the example's: {text}"
    );

    let rendered = run(
        "kubectl",
        &["kustomize", "overlays/kube-prometheus-stack"],
        &out,
    );
    assert!(
        rendered.contains("namespace=\\\"inference\\\"")
            || rendered.contains("namespace=\"inference\"")
    );
    assert!(
        rendered.contains("sum by (job, pod, model_name)"),
        "{rendered}"
    );
    assert!(rendered.contains("release: kube-prometheus-stack"));
}

#[test]
fn a_bad_file_is_a_usage_error_that_names_the_key() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let bad = tmp.path().join("bad.yaml");
    std::fs::write(&bad, "alerts:\n  VllmHighRequestQueue:\n    for: soon\n").expect("write");
    let bad_s = bad.to_str().expect("utf-8 path");
    let out = tmp.path().join("out");
    for args in [
        vec![
            "dashboard",
            "--out",
            out.to_str().expect("path"),
            "--config",
            bad_s,
        ],
        vec![
            "alerts",
            "--root",
            tmp.path().to_str().expect("path"),
            "--config",
            bad_s,
        ],
        vec![
            "kubernetes",
            "--out",
            out.to_str().expect("path"),
            "--config",
            bad_s,
        ],
    ] {
        let (code, text) = cli(&args);
        assert_eq!(code, 2, "{args:?}: {text}");
        assert!(text.contains("alerts.VllmHighRequestQueue.for"), "{text}");
        assert!(text.contains("\"soon\""), "{text}");
        assert!(!out.exists(), "nothing written on a bad config");
    }
    let (code, text) = cli(&["dashboard", "--config", "/nonexistent/cfg.yaml", "--check"]);
    assert_eq!(code, 2);
    assert!(text.contains("cannot read /nonexistent/cfg.yaml"), "{text}");
}

#[test]
fn an_empty_file_reproduces_the_committed_output() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let empty = tmp.path().join("empty.yaml");
    std::fs::write(&empty, "# nothing configured\n").expect("write");
    let empty = empty.to_str().expect("utf-8 path");
    for args in [
        vec!["dashboard", "--check", "--config", empty],
        vec![
            "dashboard",
            "--check",
            "--datasource",
            "plugin",
            "--out",
            "dashboards",
            "--config",
            empty,
        ],
        vec!["alerts", "--check", "--config", empty],
        vec!["kubernetes", "--check", "--config", empty],
    ] {
        let (code, text) = cli(&args);
        assert_eq!(code, 0, "{args:?}: {text}");
    }
}

#[test]
fn the_cost_section_sets_the_dashboard_defaults_and_names_its_mistakes() {
    let path = Path::new("cost.yaml");
    let cfg = generator_config::parse("cost:\n  gpu_hour: 2.5\n  gpus_per_instance: 4\n", path)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.alerts.cost.gpu_hour, 2.5);
    assert_eq!(cfg.alerts.cost.gpus_per_instance, 4);
    let d = dashboard::all_for(
        DatasourceFlavor::Prometheus,
        &dashboard::Deployment::of(&cfg.alerts),
    );
    let gpu = &d
        .iter()
        .find(|(name, _)| name == "vllm-gpu.json")
        .expect("the GPUs & cost dashboard")
        .1;
    let value = |name: &str| {
        gpu.templating
            .list
            .iter()
            .find(|v| v.name == name)
            .map(|v| v.query.clone())
    };
    assert_eq!(value(dashboard::GPU_HOUR_COST).as_deref(), Some("2.5"));
    assert_eq!(value(dashboard::GPUS_PER_INSTANCE).as_deref(), Some("4"));
    for (text, key) in [
        ("cost:\n  gpu_hour: -1\n", "cost.gpu_hour"),
        ("cost:\n  gpu_hour: .nan\n", "cost.gpu_hour"),
        ("cost:\n  gpus_per_instance: 0\n", "cost.gpus_per_instance"),
    ] {
        let e = generator_config::parse(text, path).expect_err(text);
        assert!(e.to_string().contains(&format!("`{key}`")), "{e}");
    }
    let e = generator_config::parse("cost:\n  gpu_hours: 2\n", path).expect_err("a typo");
    assert!(e.to_string().contains("gpu_hours"), "{e}");
}
