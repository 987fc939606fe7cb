//! The docker-compose stack's files agree with each other and with the docs:
//! ports, credentials, mounts, provisioning, targets.

use std::path::Path;
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn yaml(rel: &str) -> serde_json::Value {
    let text =
        std::fs::read_to_string(Path::new(ROOT).join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn compose_publishes_grafana_on_3010_and_prometheus_on_9090() {
    let c = yaml("docker-compose.yml");
    let s = &c["services"];
    // Loopback by default; GRAFANA_BIND / PROMETHEUS_BIND open them up.
    assert_eq!(
        s["grafana"]["ports"][0],
        "${GRAFANA_BIND:-127.0.0.1}:${GRAFANA_PORT:-3010}:3000"
    );
    assert_eq!(
        s["prometheus"]["ports"][0],
        "${PROMETHEUS_BIND:-127.0.0.1}:9090:9090"
    );
    let env = &s["grafana"]["environment"];
    assert_eq!(
        env["GF_SECURITY_ADMIN_USER"],
        "${GRAFANA_ADMIN_USER:-admin}"
    );
    assert_eq!(
        env["GF_SECURITY_ADMIN_PASSWORD"],
        "${GRAFANA_ADMIN_PASSWORD:-admin}"
    );
    for (name, svc) in s.as_object().expect("services") {
        if let Some(image) = svc["image"].as_str() {
            let tag = image.rsplit_once(':').map(|(_, t)| t).unwrap_or("");
            assert!(
                !tag.is_empty() && tag != "latest",
                "{name}: image {image} must be pinned"
            );
        }
    }
}

#[test]
fn services_have_healthchecks_start_in_order_and_reach_the_host() {
    let c = yaml("docker-compose.yml");
    let s = &c["services"];
    for name in ["simulator", "prometheus", "grafana"] {
        let test = s[name]["healthcheck"]["test"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: no healthcheck"));
        assert_eq!(test[0], "CMD", "{name}");
    }
    assert_eq!(
        s["grafana"]["depends_on"]["prometheus"]["condition"],
        "service_healthy"
    );
    assert_eq!(
        s["prometheus"]["depends_on"]["simulator"]["condition"],
        "service_started"
    );
    // Direct mode and Grafana-managed alerts scrape from the Grafana container.
    for name in ["grafana", "prometheus"] {
        let hosts: Vec<&str> = s[name]["extra_hosts"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: no extra_hosts"))
            .iter()
            .filter_map(|h| h.as_str())
            .collect();
        assert!(
            hosts.contains(&"host.docker.internal:host-gateway"),
            "{name}"
        );
    }
}

#[test]
fn images_are_current_pinned_and_built_from_a_small_context() {
    let dockerfile =
        std::fs::read_to_string(Path::new(ROOT).join("Dockerfile")).expect("Dockerfile");
    let c = yaml("docker-compose.yml");
    let mut images: Vec<String> = dockerfile
        .lines()
        .filter_map(|l| l.strip_prefix("FROM "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect();
    for svc in c["services"].as_object().expect("services").values() {
        if let Some(image) = svc["image"].as_str().filter(|i| !i.ends_with(":local")) {
            images.push(image.to_string());
        }
    }
    // Past their end of life: node 20 (April 2026), Alpine 3.20 (April 2026), Grafana 11.
    let retired = [
        "node:20",
        "alpine:3.20",
        "alpine3.20",
        "grafana:11.",
        "prometheus:v2.",
    ];
    for image in &images {
        let tag = image.rsplit_once(':').map(|(_, t)| t).unwrap_or("");
        assert!(
            tag.chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit() || c == 'v')
                && tag.contains('.'),
            "{image}: pin a version"
        );
        assert!(
            !retired.iter().any(|r| image.contains(r)),
            "{image} is past its end of life"
        );
    }
    // Dependencies are built in a layer of their own, before the sources.
    let deps = dockerfile
        .find("COPY Cargo.toml Cargo.lock ./")
        .expect("dependency layer");
    let all = dockerfile.find("COPY . .").expect("source copy");
    assert!(deps < all);
    let ignore = std::fs::read_to_string(Path::new(ROOT).join(".dockerignore")).expect("ignore");
    for dir in [
        "target",
        "node_modules",
        "fuzz/target",
        "fuzz/corpus",
        "fuzz/artifacts",
    ] {
        assert!(
            ignore.lines().any(|l| l == dir),
            ".dockerignore misses {dir}"
        );
    }
}

#[test]
fn every_mounted_path_exists_in_the_repository() {
    let c = yaml("docker-compose.yml");
    for (name, svc) in c["services"].as_object().expect("services") {
        for v in svc["volumes"].as_array().into_iter().flatten() {
            let spec = v.as_str().expect("short volume syntax");
            if let Some(host) = spec.split(':').next().filter(|h| h.starts_with("./")) {
                assert!(
                    Path::new(ROOT).join(host).exists(),
                    "{name}: {host} missing"
                );
            }
        }
    }
}

#[test]
fn the_demo_target_is_the_simulator_service() {
    let c = yaml("docker-compose.yml");
    let sim = &c["services"]["simulator"];
    let listen = sim["command"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .position(|x| x == "--listen")
                .map(|i| a[i + 1].clone())
        })
        .expect("--listen");
    assert_eq!(listen, "0.0.0.0:8000");
    let targets: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(ROOT).join(vllm_grafana::targets::FILE_SD))
            .expect("targets"),
    )
    .expect("json");
    assert_eq!(targets[0]["targets"][0], "simulator:8000");
}

#[test]
fn committed_plugin_datasources_match_the_committed_targets() {
    let targets: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(ROOT).join(vllm_grafana::targets::FILE_SD))
            .expect("targets"),
    )
    .expect("json");
    let list: Vec<&str> = targets[0]["targets"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|t| t.as_str())
        .collect();
    let endpoints = vllm_grafana::targets::parse_targets(&list.join(",")).expect("valid");
    let committed =
        std::fs::read_to_string(Path::new(ROOT).join(vllm_grafana::targets::PLUGIN_DATASOURCES))
            .expect("plugin datasources");
    assert_eq!(
        committed,
        vllm_grafana::targets::plugin_datasources_yaml(&endpoints.targets)
    );
}

#[test]
fn provisioning_points_at_the_services_and_dashboards() {
    let ds = yaml("provisioning/datasources/prometheus.yml");
    assert_eq!(ds["datasources"][0]["url"], "http://prometheus:9090");
    assert_eq!(ds["datasources"][0]["type"], "prometheus");
    let dash = yaml("provisioning/dashboards/vllm.yml");
    assert_eq!(
        dash["providers"][0]["options"]["path"],
        "/var/lib/grafana/dashboards"
    );
    let c = yaml("docker-compose.yml");
    let mounts: Vec<&str> = c["services"]["grafana"]["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(mounts.contains(&"./dashboards:/var/lib/grafana/dashboards:ro"));
    assert!(Path::new(ROOT)
        .join("dashboards/vllm-overview.json")
        .exists());
}

#[test]
fn config_command_writes_targets_prometheus_accepts() {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(tmp.path().join("prometheus")).expect("mkdir");
    for f in ["prometheus.yml", "rules.yml", "recording.yml"] {
        std::fs::copy(
            Path::new(ROOT).join("prometheus").join(f),
            tmp.path().join("prometheus").join(f),
        )
        .expect("copy");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_vllm-grafana"))
        .args([
            "config",
            "--targets",
            "10.0.0.5:8000,gpu-2:8001,https://gpu-3:8443/custom/metrics,10.0.0.5:8000",
            "--root",
        ])
        .arg(tmp.path())
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written =
        std::fs::read_to_string(tmp.path().join(vllm_grafana::targets::FILE_SD)).expect("written");
    let groups: serde_json::Value = serde_json::from_str(&written).expect("json");
    assert_eq!(
        groups[0]["targets"],
        serde_json::json!(["10.0.0.5:8000", "gpu-2:8001"])
    );
    assert_eq!(groups[1]["targets"], serde_json::json!(["gpu-3:8443"]));
    assert_eq!(groups[1]["labels"]["__scheme__"], "https");
    assert_eq!(groups[1]["labels"]["__metrics_path__"], "/custom/metrics");
    let plugin =
        std::fs::read_to_string(tmp.path().join(vllm_grafana::targets::PLUGIN_DATASOURCES))
            .expect("written");
    assert!(
        plugin.contains("\"https://gpu-3:8443/custom/metrics\""),
        "{plugin}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("listed more than once"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let check = Command::new("promtool")
        .args(["check", "config", "prometheus.yml"])
        .current_dir(tmp.path().join("prometheus"))
        .output()
        .expect("promtool must be installed");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let bad = Command::new(env!("CARGO_BIN_EXE_vllm-grafana"))
        .args(["config", "--targets", "10.0.0.5:8000,::1:8000"])
        .output()
        .expect("run");
    assert_eq!(bad.status.code(), Some(2));
    let said = String::from_utf8_lossy(&bad.stderr);
    assert!(
        said.contains("target 2") && said.contains("[::1:8000]"),
        "{said}"
    );
}

#[test]
fn start_scripts_bring_the_stack_up() {
    for f in ["start-monitoring.sh", "start-monitoring.bat"] {
        let text = std::fs::read_to_string(Path::new(ROOT).join(f)).expect(f);
        assert!(text.contains("compose up -d"), "{f}");
        assert!(text.contains("3010"), "{f}");
    }
}

#[test]
fn grafana_image_carries_the_plugin_unsigned_loading_allowed() {
    let dockerfile =
        std::fs::read_to_string(Path::new(ROOT).join("Dockerfile")).expect("Dockerfile");
    for line in dockerfile.lines().filter(|l| l.starts_with("FROM ")) {
        let image = line.split_whitespace().nth(1).unwrap_or("");
        let tag = image.rsplit_once(':').map(|(_, t)| t).unwrap_or("");
        assert!(
            !tag.is_empty() && tag != "latest",
            "unpinned base image: {line}"
        );
    }
    let id = vllm_grafana::dashboard::PLUGIN_ID;
    assert!(dockerfile.contains(&format!("/var/lib/grafana-plugins/{id}/gpx_vllm_linux_")));
    let c = yaml("docker-compose.yml");
    let grafana = &c["services"]["grafana"];
    assert_eq!(grafana["build"]["target"], "grafana");
    assert_eq!(
        grafana["environment"]["GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS"],
        id
    );
    let plugin: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(ROOT).join("plugin.json")).expect("plugin.json"),
    )
    .expect("json");
    assert_eq!(plugin["id"], id);
}

/// The demo simulator also serves a DCGM exporter, and Prometheus scrapes it
/// as its own job keeping the exporter's labels: the GPUs & cost dashboard
/// and the GPU alerts have data in the stack.
#[test]
fn the_stack_scrapes_the_simulated_dcgm_exporter() {
    let c = yaml("docker-compose.yml");
    let command: Vec<&str> = c["services"]["simulator"]["command"]
        .as_array()
        .expect("command")
        .iter()
        .filter_map(|x| x.as_str())
        .collect();
    let after = |flag: &str| {
        command
            .iter()
            .position(|x| *x == flag)
            .and_then(|i| command.get(i + 1).copied())
    };
    assert!(command.contains(&"--dcgm"), "{command:?}");
    assert_eq!(after("--dcgm-listen"), Some("0.0.0.0:9400"));
    let prom = yaml("prometheus/prometheus.yml");
    let job = prom["scrape_configs"]
        .as_array()
        .expect("scrape_configs")
        .iter()
        .find(|j| j["job_name"] == "dcgm")
        .expect("a dcgm job");
    assert_eq!(job["honor_labels"], true);
    assert_eq!(job["static_configs"][0]["targets"][0], "simulator:9400");
}
