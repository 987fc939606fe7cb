//! Direct mode beside a DCGM exporter: the plugin (the real `gpx_vllm`,
//! driven over gRPC like Grafana drives it) scrapes the simulator's vLLM
//! endpoint and its exporter as two targets, and every query of the GPUs &
//! cost dashboard (plugin flavour) answers with numbers.

mod support;

use grafana_plugin_sdk::pluginv2::{self, check_health_response::HealthStatus};
use std::time::Duration;
use support::eventually;
use support::frames;
use support::grafana::{promql_query, Datasource, Plugin};
use vllm_grafana::dashboard::{self, DatasourceFlavor};
use vllm_grafana::promql::inspect;
use vllm_grafana::simulator::{self, SimConfig};

/// Dashboard variables with "All" selected and the cost defaults; Grafana's
/// built-ins are left for the plugin to expand.
fn variables(name: &str) -> Option<String> {
    if name.starts_with("__") {
        return None;
    }
    dashboard::default_value(name)
}

/// Whether any frame of `ref_id` holds a finite number.
fn has_numbers(resp: &pluginv2::QueryDataResponse, ref_id: &str) -> bool {
    frames::frames_of(resp, ref_id).is_ok_and(|frames| {
        frames
            .iter()
            .flat_map(|f| f.fields.iter())
            .any(|f| f.numbers().iter().flatten().any(|v| v.is_finite()))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn direct_mode_scrapes_a_dcgm_exporter_and_answers_the_gpu_dashboard() {
    let cfg = SimConfig {
        listen: "127.0.0.1:0".parse().expect("addr"),
        models: 1,
        engines: 2,
        requests_per_second: 20.0,
        gpus_per_engine: 2,
        dcgm_listen: "127.0.0.1:0".parse().expect("addr"),
        ..SimConfig::default()
    };
    let server = simulator::bind(cfg).await.expect("bind simulator");
    let vllm = server.local_addr();
    let gpus = server.dcgm_addr().expect("the simulated exporter");
    tokio::spawn(server.run(std::future::pending()));

    let plugin = Plugin::start().await.expect("plugin starts");
    let ds = Datasource::direct(
        "gpu",
        &[
            format!("http://{vllm}/metrics"),
            format!("http://{gpus}/metrics"),
        ],
    );
    // The exporter is one more target: it does not make the datasource unhealthy.
    // Recognised as such once scraped, not reported as a broken vLLM.
    let health = eventually("both targets scraped", Duration::from_secs(20), || {
        let (plugin, ds) = (&plugin, &ds);
        async move {
            let h = plugin.check_health(ds).await.ok()?;
            h.message.contains("DCGM exporter").then_some(h)
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(health.status(), HealthStatus::Ok, "{}", health.message);
    assert!(
        health
            .message
            .starts_with("1 of 2 targets are vLLM endpoints")
            && health
                .message
                .contains("; 1 DCGM exporter target(s) with GPU metrics")
            && !health.message.contains("not a vLLM endpoint"),
        "{}",
        health.message
    );

    let board = dashboard::gpu(DatasourceFlavor::Plugin);
    let queries = dashboard::panels_queries(&board);
    assert!(queries.len() > 25, "{} queries", queries.len());
    for (i, q) in queries.iter().enumerate() {
        let expr = inspect::interpolate(&q.expr, variables);
        let ref_id = format!("Q{i}");
        // Rates and the join need a few scrapes (every second) of both targets.
        eventually(
            &format!("\"{}\" {}: {expr}", q.panel_title, q.ref_id),
            Duration::from_secs(30),
            || {
                let (plugin, ds, expr, ref_id) = (&plugin, &ds, &expr, &ref_id);
                async move {
                    let out = plugin
                        .query(ds, vec![promql_query(ref_id, expr, q.instant)])
                        .await
                        .ok()?;
                    has_numbers(&out, ref_id).then_some(())
                }
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    }
}
