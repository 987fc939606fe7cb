//! The Kubernetes tree (`deploy/kubernetes`), checked offline: it is what the
//! generator writes; `kubectl kustomize` renders the base and every overlay
//! into the objects expected; the PrometheusRule's rules pass `promtool
//! check rules` and are the stack's rules; the dashboard ConfigMap holds the
//! stack's dashboard; `yamllint` passes. (No cluster is available here.)

use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use vllm_grafana::alerts::{self, AlertConfig};
use vllm_grafana::kubernetes::{self, KubeConfig, OUT_DIR};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Every overlay of the committed tree.
const OVERLAYS: &[&str] = &[
    "overlays/kube-prometheus-stack",
    "overlays/service-monitor",
    "overlays/grafana-alerting",
    "overlays/grafana-operator",
    "overlays/grafana-operator-alerting",
];

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
    // One ConfigMap per dashboard.
    let dashboards =
        vllm_grafana::dashboard::all(vllm_grafana::dashboard::DatasourceFlavor::Prometheus).len();
    let mut rules_and_dashboards = vec!["ConfigMap"; dashboards];
    // vLLM's PodMonitor and the DCGM exporter's.
    rules_and_dashboards.extend([
        "PodMonitor",
        "PodMonitor",
        "PrometheusRule",
        "PrometheusRule",
    ]);
    assert_eq!(kinds(&base), rules_and_dashboards);
    let kps = kustomize("overlays/kube-prometheus-stack");
    assert_eq!(kinds(&kps), rules_and_dashboards);
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
        .find(|o| o["kind"] == "PodMonitor" && o["metadata"]["name"] == "vllm")
        .expect("PodMonitor");
    assert!(
        pm["spec"]["selector"]["matchLabels"]["release"].is_null(),
        "{pm}"
    );
    let sm = kustomize("overlays/service-monitor");
    let mut expected = vec!["ConfigMap"; dashboards];
    // The DCGM exporter stays on its PodMonitor (a DaemonSet has no Service of ours).
    expected.extend([
        "PodMonitor",
        "PrometheusRule",
        "PrometheusRule",
        "ServiceMonitor",
    ]);
    assert_eq!(kinds(&sm), expected);
    let dcgm = base
        .iter()
        .find(|o| o["metadata"]["name"] == "dcgm-exporter")
        .expect("the DCGM exporter's PodMonitor");
    let endpoint = &dcgm["spec"]["podMetricsEndpoints"][0];
    // The exporter's pod labels name the vLLM pod using each GPU.
    assert_eq!(endpoint["honorLabels"], true, "{dcgm}");
    assert_eq!(endpoint["port"], "metrics");
    assert_eq!(
        dcgm["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"],
        "dcgm-exporter"
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
fn the_sidecar_gets_the_stacks_dashboards() {
    let base = kustomize("base");
    let maps: Vec<&Value> = base.iter().filter(|o| o["kind"] == "ConfigMap").collect();
    let files = vllm_grafana::dashboard::all(vllm_grafana::dashboard::DatasourceFlavor::Prometheus);
    assert_eq!(maps.len(), files.len(), "one ConfigMap per dashboard");
    for (name, _) in files {
        let cm = maps
            .iter()
            .find(|cm| cm["data"][&name].is_string())
            .unwrap_or_else(|| panic!("no ConfigMap holds {name}"));
        assert_eq!(
            cm["metadata"]["labels"][kubernetes::SIDECAR_LABEL.0],
            kubernetes::SIDECAR_LABEL.1
        );
        assert_eq!(
            cm["metadata"]["annotations"]["grafana_folder"],
            alerts::GRAFANA_FOLDER
        );
        // The stack's dashboard, compacted.
        let committed: Value = serde_json::from_str(
            &std::fs::read_to_string(Path::new(ROOT).join("dashboards").join(&name))
                .expect("dashboard"),
        )
        .expect("JSON");
        let shipped: Value =
            serde_json::from_str(cm["data"][&name].as_str().expect("text")).expect("JSON");
        assert_eq!(shipped, committed, "{name}");
    }
}

/// Client-side `kubectl apply` keeps the whole object, as JSON, in the
/// `last-applied-configuration` annotation, and annotations are limited to
/// 256 KiB: a larger object cannot be applied that way.
#[test]
fn every_object_fits_in_kubectl_applys_annotation() {
    for dir in std::iter::once("base").chain(OVERLAYS.iter().copied()) {
        for o in kustomize(dir) {
            let size = serde_json::to_string(&o).expect("JSON").len();
            assert!(
                size < 256 * 1024,
                "{dir}: {} {} is {size} bytes as JSON",
                o["kind"],
                o["metadata"]["name"]
            );
        }
    }
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

/// `openAPIV3Schema` of every served version of the CRDs in
/// tests/fixtures/crds, by `(apiVersion, kind)`.
fn crd_schemas() -> HashMap<(String, String), Value> {
    let dir = Path::new(ROOT).join("tests/fixtures/crds");
    let mut out = HashMap::new();
    for entry in std::fs::read_dir(&dir).expect("CRD fixtures") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read CRD");
        let crd: Value = serde_yaml::from_str(&text).expect("CRD YAML");
        let group = crd["spec"]["group"].as_str().expect("group");
        let kind = crd["spec"]["names"]["kind"].as_str().expect("kind");
        for v in crd["spec"]["versions"].as_array().expect("versions") {
            if v["served"] == true {
                let api = format!("{group}/{}", v["name"].as_str().expect("version"));
                out.insert(
                    (api, kind.to_string()),
                    v["schema"]["openAPIV3Schema"].clone(),
                );
            }
        }
    }
    out
}

/// Fields of `value` its schema does not declare: the API server would
/// prune them (or refuse them with strict validation), so a typo there is
/// silently lost.
fn undeclared_fields(value: &Value, schema: &Value, path: &str, out: &mut Vec<String>) {
    if schema["x-kubernetes-preserve-unknown-fields"] == true {
        return;
    }
    match value {
        Value::Object(map) => {
            let props = schema["properties"].as_object();
            for (k, v) in map {
                let child = format!("{path}.{k}");
                match props.and_then(|p| p.get(k)) {
                    Some(s) => undeclared_fields(v, s, &child, out),
                    None if schema["additionalProperties"].is_object() => {
                        undeclared_fields(v, &schema["additionalProperties"], &child, out)
                    }
                    None if (props.is_some() || schema["type"] == "object")
                        && schema["additionalProperties"] != true =>
                    {
                        out.push(child)
                    }
                    None => {}
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                undeclared_fields(v, &schema["items"], &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// Problems of one custom resource against its CRD.
fn crd_problems(object: &Value, schemas: &HashMap<(String, String), Value>) -> Option<Vec<String>> {
    let api = object["apiVersion"].as_str()?.to_string();
    let kind = object["kind"].as_str()?.to_string();
    let schema = schemas.get(&(api.clone(), kind.clone()))?;
    let name = object["metadata"]["name"].as_str().unwrap_or("?");
    let validator = jsonschema::validator_for(schema).unwrap_or_else(|e| panic!("{kind}: {e}"));
    let mut problems: Vec<String> = validator
        .iter_errors(object)
        .map(|e| format!("{kind}/{name}: {e} at {}", e.instance_path()))
        .collect();
    let mut extra = Vec::new();
    // Only the spec: metadata is the API server's own and the CRD leaves it open.
    undeclared_fields(
        &object["spec"],
        &schema["properties"]["spec"],
        "spec",
        &mut extra,
    );
    problems.extend(
        extra
            .into_iter()
            .map(|f| format!("{kind}/{name}: {f} is not in the CRD")),
    );
    Some(problems)
}

#[test]
fn every_custom_resource_matches_its_crd() {
    let schemas = crd_schemas();
    assert!(schemas.len() >= 7, "{:?}", schemas.keys());
    let mut checked = std::collections::BTreeSet::new();
    let mut problems = Vec::new();
    for dir in std::iter::once("base").chain(OVERLAYS.iter().copied()) {
        for object in kustomize(dir) {
            if let Some(p) = crd_problems(&object, &schemas) {
                checked.insert(object["kind"].as_str().unwrap_or("").to_string());
                problems.extend(p.into_iter().map(|p| format!("{dir}: {p}")));
            }
        }
    }
    assert_eq!(
        checked.into_iter().collect::<Vec<_>>(),
        [
            "GrafanaAlertRuleGroup",
            "GrafanaDashboard",
            "GrafanaDatasource",
            "GrafanaFolder",
            "PodMonitor",
            "PrometheusRule",
            "ServiceMonitor"
        ]
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_crd_check_catches_wrong_types_missing_and_undeclared_fields() {
    let schemas = crd_schemas();
    let base = kustomize("base");
    let pm = base
        .iter()
        .find(|o| o["kind"] == "PodMonitor")
        .expect("PodMonitor");
    let mut broken = pm.clone();
    broken["spec"]["podMetricsEndpoints"][0]["honorLabels"] = Value::String("yes".into());
    broken["spec"]["podMetricsEndpoints"][0]["scrapeIntervall"] = Value::String("15s".into());
    let problems = crd_problems(&broken, &schemas)
        .expect("a CRD kind")
        .join("\n");
    assert!(problems.contains("honorLabels"), "{problems}");
    assert!(
        problems.contains("scrapeIntervall is not in the CRD"),
        "{problems}"
    );

    let ops = kustomize("overlays/grafana-operator-alerting");
    let group = ops
        .iter()
        .find(|o| o["kind"] == "GrafanaAlertRuleGroup")
        .expect("rule group");
    let mut broken = group.clone();
    broken["spec"]["rules"][0]
        .as_object_mut()
        .expect("rule")
        .remove("noDataState");
    let problems = crd_problems(&broken, &schemas)
        .expect("a CRD kind")
        .join("\n");
    assert!(problems.contains("noDataState"), "{problems}");
}

#[test]
fn the_alerting_overlays_replace_the_prometheus_rule_and_query_a_datasource_they_define() {
    let sidecar = kustomize("overlays/grafana-alerting");
    // Only the recording rules stay with Prometheus: alerts would fire twice.
    let rule_names = |objects: &[Value]| -> Vec<String> {
        objects
            .iter()
            .filter(|o| o["kind"] == "PrometheusRule")
            .map(|o| o["metadata"]["name"].as_str().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(rule_names(&sidecar), ["vllm-recording"]);
    let rules_cm = sidecar
        .iter()
        .find(|o| o["metadata"]["labels"]["grafana_alert"] == "1")
        .expect("a ConfigMap for the alert sidecar");
    let file: Value = serde_yaml::from_str(
        rules_cm["data"]
            .as_object()
            .and_then(|d| d.values().next())
            .and_then(Value::as_str)
            .expect("rules file"),
    )
    .expect("YAML");
    let kube = KubeConfig::default();
    let rules = file["groups"][0]["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), alerts::rules(&AlertConfig::default()).len());
    for r in rules {
        assert_eq!(
            r["data"][0]["datasourceUid"],
            kube.grafana_datasource_uid.as_str()
        );
    }

    let ops = kustomize("overlays/grafana-operator-alerting");
    assert_eq!(rule_names(&ops), ["vllm-recording"]);
    let ds = ops
        .iter()
        .find(|o| o["kind"] == "GrafanaDatasource")
        .expect("datasource");
    let group = ops
        .iter()
        .find(|o| o["kind"] == "GrafanaAlertRuleGroup")
        .expect("group");
    let folder = ops
        .iter()
        .find(|o| o["kind"] == "GrafanaFolder")
        .expect("folder");
    assert_eq!(group["spec"]["folderRef"], folder["metadata"]["name"]);
    for r in group["spec"]["rules"].as_array().expect("rules") {
        assert_eq!(r["data"][0]["datasourceUid"], ds["spec"]["uid"]);
    }
    let dashboard = ops
        .iter()
        .find(|o| o["kind"] == "GrafanaDashboard")
        .expect("dashboard");
    let cm = ops
        .iter()
        .find(|o| {
            o["kind"] == "ConfigMap"
                && o["metadata"]["name"] == dashboard["spec"]["configMapRef"]["name"]
        })
        .expect("the dashboard's ConfigMap");
    let key = dashboard["spec"]["configMapRef"]["key"]
        .as_str()
        .expect("key");
    assert!(
        cm["data"][key].is_string(),
        "the dashboard's ConfigMap key exists"
    );
    assert_eq!(
        dashboard["spec"]["datasources"][0]["datasourceName"],
        ds["spec"]["datasource"]["name"]
    );
}

#[test]
fn the_helm_values_install_the_plugin_and_load_this_trees_configmaps() {
    let text = std::fs::read_to_string(
        Path::new(ROOT)
            .join(OUT_DIR)
            .join("helm/grafana-values.yaml"),
    )
    .expect("values");
    let v: Value = serde_yaml::from_str(&text).expect("YAML");
    let id = vllm_grafana::dashboard::PLUGIN_ID;
    assert!(v["plugins"][0]
        .as_str()
        .is_some_and(|p| p.ends_with(&format!(";{id}"))));
    assert_eq!(
        v["grafana.ini"]["plugins"]["allow_loading_unsigned_plugins"],
        id
    );
    assert_eq!(
        v["sidecar"]["dashboards"]["label"],
        kubernetes::SIDECAR_LABEL.0
    );
    assert_eq!(
        v["sidecar"]["dashboards"]["folderAnnotation"],
        "grafana_folder"
    );
    let ds = &v["datasources"]["vllm-datasources.yaml"]["datasources"][0];
    assert_eq!(ds["type"], id);
    assert_eq!(ds["jsonData"]["mode"], "prometheus");
    // The labels the overlays put on their ConfigMaps are the ones the sidecars watch.
    let base = kustomize("base");
    let dashboards = base
        .iter()
        .find(|o| o["kind"] == "ConfigMap")
        .expect("ConfigMap");
    assert_eq!(
        dashboards["metadata"]["labels"]
            [v["sidecar"]["dashboards"]["label"].as_str().expect("label")],
        v["sidecar"]["dashboards"]["labelValue"]
    );
    let alerting = kustomize("overlays/grafana-alerting");
    let label = v["sidecar"]["alerts"]["label"].as_str().expect("label");
    assert!(alerting
        .iter()
        .any(|o| o["metadata"]["labels"][label] == v["sidecar"]["alerts"]["labelValue"]));
}
