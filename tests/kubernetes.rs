//! The Kubernetes tree (`deploy/kubernetes`), checked offline: it is what the
//! generator writes; `kubectl kustomize` renders the base and every overlay
//! into the objects expected; the PrometheusRule's rules pass `promtool
//! check rules` and are the stack's rules; the dashboard ConfigMap holds the
//! stack's dashboard; `yamllint` passes. (No cluster is available here.)

use std::path::Path;
use std::process::Command;
use vllm_grafana::alerts::{self, AlertConfig};
use vllm_grafana::kubernetes::{self, KubeConfig, OUT_DIR};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The objects `kubectl kustomize` renders for `dir` (under deploy/kubernetes).
fn kustomize(dir: &str) -> Vec<serde_json::Value> {
    let path = Path::new(ROOT).join(OUT_DIR).join(dir);
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(&path)
        .output()
        .expect("kubectl must be installed (it carries kustomize)");
    assert!(
        out.status.success(),
        "{dir}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    serde_yaml::Deserializer::from_str(&text)
        .map(|doc| serde::Deserialize::deserialize(doc).expect("YAML object"))
        .collect()
}

fn kinds(objects: &[serde_json::Value]) -> Vec<String> {
    let mut k: Vec<String> = objects
        .iter()
        .map(|o| o["kind"].as_str().unwrap_or("").to_string())
        .collect();
    k.sort();
    k
}

#[test]
fn the_committed_tree_is_what_the_generator_writes() {
    let dir = Path::new(ROOT).join(OUT_DIR);
    kubernetes::check_all(&dir, &AlertConfig::default(), &KubeConfig::default())
        .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn every_overlay_renders_the_objects_it_promises() {
    let base = kustomize("base");
    assert_eq!(kinds(&base), ["ConfigMap", "PodMonitor", "PrometheusRule"]);
    let kps = kustomize("overlays/kube-prometheus-stack");
    assert_eq!(kinds(&kps), ["ConfigMap", "PodMonitor", "PrometheusRule"]);
    for o in &kps {
        assert_eq!(
            o["metadata"]["labels"]["release"], "kube-prometheus-stack",
            "{o}"
        );
        assert_eq!(o["metadata"]["namespace"], "monitoring");
    }
    // The label does not leak into the pod selector.
    let pm = kps
        .iter()
        .find(|o| o["kind"] == "PodMonitor")
        .expect("PodMonitor");
    assert!(
        pm["spec"]["selector"]["matchLabels"]["release"].is_null(),
        "{pm}"
    );
    let sm = kustomize("overlays/service-monitor");
    assert_eq!(
        kinds(&sm),
        ["ConfigMap", "PrometheusRule", "ServiceMonitor"]
    );
}

#[test]
fn the_rules_are_the_stacks_and_promtool_accepts_them() {
    let base = kustomize("base");
    let rule = base
        .iter()
        .find(|o| o["kind"] == "PrometheusRule")
        .expect("rule");
    let stack: serde_json::Value = serde_yaml::from_str(
        &alerts::prometheus_rules_yaml(&AlertConfig::default()).expect("rules"),
    )
    .expect("yaml");
    assert_eq!(rule["spec"]["groups"], stack["groups"]);
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("rules.yml");
    let groups = serde_json::json!({ "groups": rule["spec"]["groups"] });
    std::fs::write(&file, serde_yaml::to_string(&groups).expect("yaml")).expect("write");
    let out = Command::new("promtool")
        .args(["check", "rules"])
        .arg(&file)
        .output()
        .expect("promtool must be installed");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_sidecar_gets_the_stacks_dashboard() {
    let base = kustomize("base");
    let cm = base
        .iter()
        .find(|o| o["kind"] == "ConfigMap")
        .expect("ConfigMap");
    assert_eq!(
        cm["metadata"]["labels"][kubernetes::SIDECAR_LABEL.0],
        kubernetes::SIDECAR_LABEL.1
    );
    assert_eq!(
        cm["metadata"]["annotations"]["grafana_folder"],
        alerts::GRAFANA_FOLDER
    );
    let committed = std::fs::read_to_string(Path::new(ROOT).join("dashboards/vllm-overview.json"))
        .expect("dashboard");
    assert_eq!(cm["data"]["vllm-overview.json"], committed.as_str());
}

#[test]
fn yamllint_passes() {
    let out = Command::new("yamllint")
        .args(["--strict", "-c"])
        .arg(Path::new(ROOT).join(".yamllint.yaml"))
        .arg(Path::new(ROOT).join(OUT_DIR))
        .arg(Path::new(ROOT).join("prometheus"))
        .arg(Path::new(ROOT).join("provisioning"))
        .output()
        .expect("yamllint must be installed (Debian's yamllint; .ci/run does)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
