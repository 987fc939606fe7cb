//! The recording rules and the Fleet dashboard on a real Prometheus that
//! scrapes simulated vLLM servers of an old and a current release and
//! evaluates `prometheus/recording.yml`: promtool accepts the rules, every
//! Fleet panel answers from the recorded series, and each answers for the
//! same series as the same panel computed from raw series.

mod common {
    pub mod prometheus;
}

use common::prometheus::{scrape_config, Data, Job, Prometheus};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;
use vllm_grafana::alerts::{self, recording, AlertConfig};
use vllm_grafana::dashboard::{self, fleet::Source};
use vllm_grafana::promql::inspect::interpolate;
use vllm_grafana::simulator::{self, SimConfig};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn promtool_accepts_the_committed_recording_rules() {
    let out = std::process::Command::new("promtool")
        .args(["check", "rules"])
        .arg(Path::new(ROOT).join(alerts::RECORDING_RULES))
        .output()
        .expect("promtool must be installed");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = recording::recording_rules(&AlertConfig::default()).len();
    assert!(text.contains(&format!("{expected} rules found")), "{text}");
}

/// Grafana's values: everything All, the raw panels' window as the recorded one.
fn variable(name: &str) -> Option<String> {
    match name {
        "job" | "instance" | "model_name" | "engine" => Some(".*".to_string()),
        "__rate_interval" => Some(dashboard::fleet::WINDOW.to_string()),
        _ => None,
    }
}

/// The label sets of an instant query's answer.
fn series(prom: &Prometheus, expr: &str) -> Result<BTreeSet<String>, String> {
    let data = prom.query(expr)?;
    Ok(data["result"]
        .as_array()
        .map(|r| r.iter().map(|s| s["metric"].to_string()).collect())
        .unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fleet_panel_answers_from_recorded_series_as_from_raw_ones() {
    let mut targets = Vec::new();
    for (version, instances) in [("0.7", 1), ("0.33", 2)] {
        for _ in 0..instances {
            let cfg = SimConfig {
                listen: "127.0.0.1:0".parse().expect("addr"),
                version: version.parse().expect("version"),
                models: 2,
                engines: 2,
                requests_per_second: 20.0,
                ..SimConfig::default()
            };
            let server = simulator::bind(cfg).await.expect("bind simulator");
            targets.push(server.local_addr().to_string());
            tokio::spawn(server.run(std::future::pending()));
        }
    }
    let rules = tempfile::tempdir().expect("tempdir");
    let rules_file = rules.path().join("recording.yml");
    // The committed group evaluates every 30 s; the test cannot wait that long.
    let text = recording::recording_rules_yaml(&AlertConfig::default())
        .expect("rules")
        .replace(
            &format!("interval: {}", recording::INTERVAL),
            "interval: 1s",
        );
    std::fs::write(&rules_file, text).expect("write rules");
    let jobs = [Job {
        name: "vllm",
        targets,
        labels: Vec::new(),
    }];
    let config = format!(
        "{}rule_files:\n  - {}\n",
        scrape_config(&jobs, "1s"),
        rules_file.display()
    );
    let prom = tokio::task::block_in_place(|| {
        let prom = Prometheus::launch(&config, Data::Fresh, &[]).unwrap_or_else(|e| panic!("{e}"));
        prom.wait_for_scrapes("vllm", 3, 12, Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("{e}"));
        // A few rule evaluations after the twelfth scrape.
        std::thread::sleep(Duration::from_secs(3));
        prom
    });

    let recorded = dashboard::fleet(Source::Recorded);
    let raw = dashboard::fleet(Source::Raw);
    let rq = dashboard::panels_queries(&recorded);
    let wq = dashboard::panels_queries(&raw);
    assert_eq!(rq.len(), wq.len());
    assert!(rq.len() >= 15, "{} queries", rq.len());
    let mut failures = Vec::new();
    let mut read_recorded = 0;
    for (r, w) in rq.iter().zip(&wq) {
        assert_eq!((&r.panel_title, &r.ref_id), (&w.panel_title, &w.ref_id));
        let r_expr = interpolate(&r.expr, variable);
        let w_expr = interpolate(&w.expr, variable);
        if r_expr.contains(":rate5m") {
            read_recorded += 1;
        }
        let (rs, ws) =
            tokio::task::block_in_place(|| (series(&prom, &r_expr), series(&prom, &w_expr)));
        match (rs, ws) {
            (Ok(rs), Ok(_)) if rs.is_empty() => failures.push(format!(
                "\"{}\" {}: no series: {r_expr}",
                r.panel_title, r.ref_id
            )),
            (Ok(rs), Ok(ws)) if rs != ws => failures.push(format!(
                "\"{}\" {}: recorded {rs:?} but raw {ws:?}",
                r.panel_title, r.ref_id
            )),
            (Ok(_), Ok(_)) => {}
            (Err(e), _) | (_, Err(e)) => failures.push(format!("\"{}\": {e}", r.panel_title)),
        }
    }
    assert!(
        read_recorded >= 12,
        "only {read_recorded} queries read recorded series"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
