//! Service-level objectives (`slo:` in the generator configuration), end to
//! end: the example's rules pass `promtool check rules` and their generated
//! `promtool test rules` cases (firing, silent, across a counter reset and
//! without traffic), the cases fail when a rule is wrong, and a real
//! Prometheus scraping simulated servers records an error ratio per model
//! for every SLI and window.

mod common {
    pub mod prometheus;
}

use common::prometheus::{scrape_config, Data, Job, Prometheus};
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use vllm_grafana::alerts::{recording, slo};
use vllm_grafana::dashboard::{self, DatasourceFlavor};
use vllm_grafana::generator_config;
use vllm_grafana::promql::inspect::interpolate;
use vllm_grafana::simulator::{self, SimConfig};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const EXAMPLE: &str = "deploy/vllm-grafana.slo.yaml";

fn promtool(args: &[&str], dir: &Path) -> (bool, String) {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("promtool must be installed");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn the_slo_rules_pass_promtool_and_their_cases_catch_a_wrong_bound() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_vllm-grafana"))
        .args(["alerts", "--config", EXAMPLE, "--root"])
        .arg(tmp.path())
        .current_dir(ROOT)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let prom = tmp.path().join("prometheus");
    let (ok, text) = promtool(&["check", "rules", "rules.yml", "recording.yml"], &prom);
    assert!(ok, "{text}");
    let (ok, text) = promtool(&["test", "rules", "rules.test.yml"], &prom);
    assert!(ok, "{text}");
    let tests = std::fs::read_to_string(prom.join("rules.test.yml")).expect("tests");
    for alert in [
        "VllmSloTtftFastBurn",
        "VllmSloTtftSlowBurn",
        "VllmSloItlFastBurn",
        "VllmSloItlSlowBurn",
        "VllmSloSuccessFastBurn",
        "VllmSloSuccessSlowBurn",
    ] {
        for what in [
            "fires on half of the requests missing the objective",
            "stays silent on a restart (counters reset)",
            "stays silent on no traffic",
        ] {
            assert!(tests.contains(&format!("{alert} {what}")), "{alert} {what}");
        }
    }
    let grafana = std::fs::read_to_string(tmp.path().join("provisioning/alerting/vllm-rules.yml"))
        .expect("grafana rules");
    assert!(
        grafana.contains("VllmSloTtftFastBurn") && !grafana.contains("vllm_slo_ttft_errors"),
        "the Grafana-managed copy queries raw series, which direct mode has"
    );

    // A fast-burn bound ten times too high: the firing cases fail.
    let rules = std::fs::read_to_string(prom.join("rules.yml")).expect("rules");
    std::fs::write(prom.join("rules.yml"), rules.replace("> 0.144", "> 1.44")).expect("write");
    let (ok, text) = promtool(&["test", "rules", "rules.test.yml"], &prom);
    assert!(!ok, "a wrong bound must fail the cases");
    assert!(text.contains("VllmSloTtftFastBurn fires"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_records_every_sli_per_model() {
    let cfg =
        generator_config::load(&Path::new(ROOT).join(EXAMPLE)).unwrap_or_else(|e| panic!("{e}"));
    let slo_cfg = cfg.alerts.slo.clone().expect("the example sets SLOs");
    let sim = SimConfig {
        listen: "127.0.0.1:0".parse().expect("addr"),
        models: 2,
        requests_per_second: 20.0,
        ..SimConfig::default()
    };
    let server = simulator::bind(sim).await.expect("bind simulator");
    let target = server.local_addr().to_string();
    tokio::spawn(server.run(std::future::pending()));

    let dir = tempfile::tempdir().expect("tempdir");
    let rules = dir.path().join("recording.yml");
    let text = recording::recording_rules_yaml(&cfg.alerts)
        .expect("rules")
        .replace(
            &format!("interval: {}", recording::INTERVAL),
            "interval: 1s",
        );
    std::fs::write(&rules, text).expect("write rules");
    let jobs = [Job {
        name: "vllm",
        targets: vec![target],
        labels: Vec::new(),
    }];
    let config = format!(
        "{}rule_files:\n  - {}\n",
        scrape_config(&jobs, "1s"),
        rules.display()
    );
    let prom = tokio::task::block_in_place(|| {
        let prom = Prometheus::launch(&config, Data::Fresh, &[]).unwrap_or_else(|e| panic!("{e}"));
        prom.wait_for_scrapes("vllm", 1, 10, Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("{e}"));
        std::thread::sleep(Duration::from_secs(3));
        prom
    });
    let windows = slo::windows(&slo_cfg).expect("windows");
    assert_eq!(windows, ["1h", "5m", "6h", "30m", "30d"]);
    let mut missing = Vec::new();
    for sli in slo_cfg.slis() {
        for w in &windows {
            let name = slo::record(sli, w);
            let data = tokio::task::block_in_place(|| prom.query(&name)).expect("query");
            let values: Vec<f64> = data["result"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s["value"][1].as_str()?.parse().ok())
                .collect();
            if values.len() != 2 || values.iter().any(|v| !(0.0..=1.0).contains(v)) {
                missing.push(format!("{name}: {values:?}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "one ratio in [0, 1] per model expected:\n{}",
        missing.join("\n")
    );

    // The Latency & SLO dashboard's error-budget row answers per model.
    let set = dashboard::all_for(
        DatasourceFlavor::Prometheus,
        &dashboard::Deployment::of(&cfg.alerts),
    );
    let (_, latency) = set
        .iter()
        .find(|(name, _)| name == "vllm-latency.json")
        .expect("latency dashboard");
    let budget_queries: Vec<_> = dashboard::panels_queries(latency)
        .into_iter()
        .filter(|q| q.expr.contains("vllm_slo_"))
        .collect();
    // Three panels per objective, the burn-rate panel with two windows.
    assert_eq!(budget_queries.len(), 4 * slo_cfg.slis().len());
    let mut empty = Vec::new();
    for q in &budget_queries {
        let expr = interpolate(&q.expr, |v| match v {
            "job" => Some("vllm".to_string()),
            "model_name" => Some(".*".to_string()),
            _ => None,
        });
        let data = tokio::task::block_in_place(|| prom.query(&expr)).expect("query");
        if data["result"].as_array().map_or(0, Vec::len) != 2 {
            empty.push(format!(
                "\"{}\" {}: {expr}: {data}",
                q.panel_title, q.ref_id
            ));
        }
    }
    assert!(empty.is_empty(), "{}", empty.join("\n"));
    let plain = dashboard::latency(DatasourceFlavor::Prometheus);
    assert!(
        !dashboard::panels_queries(&plain)
            .iter()
            .any(|q| q.expr.contains("vllm_slo_")),
        "no error-budget row without objectives"
    );
}
