//! Fuzzing entry points for the plugin's request decoding (its modules are
//! private); re-exported as `crate::fuzzing`. Not a stable API.

use super::interval;
use super::query;
use super::settings::{RawSettings, Settings};
use crate::fuzzing::{split_header, Outcome};
use grafana_plugin_sdk::pluginv2;
use serde::Deserialize;
use std::collections::HashMap;

/// The rest of a datasource's settings, from the `#!` header line.
#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct SettingsHeader {
    url: String,
    basic_auth_enabled: bool,
    basic_auth_user: String,
    /// `decryptedSecureJsonData`.
    secure: HashMap<String, String>,
}

/// Datasource settings: the body is `jsonData`, the header holds the URL,
/// Grafana's basic-auth fields and the secure fields.
pub fn settings(data: &[u8]) -> Outcome {
    let (header, json_data) = split_header(data);
    let header: SettingsHeader = header
        .and_then(|h| serde_json::from_slice(h).ok())
        .unwrap_or_default();
    let raw = RawSettings {
        url: &header.url,
        json_data,
        secure: &header.secure,
        basic_auth_enabled: header.basic_auth_enabled,
        basic_auth_user: &header.basic_auth_user,
    };
    match Settings::parse(&raw) {
        Ok(s) => {
            assert!(!s.url.is_empty() || s.mode == super::Mode::Direct);
            Outcome::Accepted(format!("{} mode, url {:?}", s.mode.as_str(), s.url))
        }
        Err(e) => {
            assert!(!e.0.is_empty(), "a settings error names at least one field");
            for f in &e.0 {
                assert!(!f.field.is_empty() && !f.reason.is_empty(), "{f:?}");
            }
            Outcome::rejected(e.to_string())
        }
    }
}

/// The parts of a `DataQuery` besides its JSON, from the `#!` header line,
/// and the datasource's scrape interval (`timeInterval`).
#[derive(Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct QueryHeader {
    ref_id: String,
    query_type: String,
    max_data_points: i64,
    interval_ms: i64,
    from: i64,
    to: i64,
    no_time_range: bool,
    scrape_interval: String,
}

impl Default for QueryHeader {
    fn default() -> Self {
        QueryHeader {
            ref_id: "A".to_string(),
            query_type: String::new(),
            max_data_points: 1000,
            interval_ms: 15_000,
            from: 1_700_000_000_000,
            to: 1_700_003_600_000,
            no_time_range: false,
            scrape_interval: String::new(),
        }
    }
}

/// One query: the body is the `DataQuery` JSON, the header the rest of the
/// request. Decoded, then planned (step, `$__` variables, aligned range)
/// and rendered as a Prometheus request would send it.
pub fn query(data: &[u8]) -> Outcome {
    let (header, json) = split_header(data);
    let header: QueryHeader = header
        .and_then(|h| serde_json::from_slice(h).ok())
        .unwrap_or_default();
    let q = pluginv2::DataQuery {
        ref_id: header.ref_id,
        max_data_points: header.max_data_points,
        interval_ms: header.interval_ms,
        time_range: (!header.no_time_range).then_some(pluginv2::TimeRange {
            from_epoch_ms: header.from,
            to_epoch_ms: header.to,
        }),
        json: json.to_vec(),
        query_type: header.query_type,
    };
    let parsed = match query::parse(&q) {
        Ok(p) => p,
        Err(e) => return Outcome::rejected(e.to_string()),
    };
    assert!(parsed.from_ms <= parsed.to_ms);
    let plan = match parsed.plan(&header.scrape_interval) {
        Ok(p) => p,
        Err(e) => return Outcome::rejected(e.to_string()),
    };
    assert!(!plan.step.is_zero(), "the step is positive");
    assert!(plan.start_ns <= plan.end_ns, "the aligned range is ordered");
    assert!(plan.step <= interval::MAX_INTERVAL, "the step is bounded");
    for ns in [plan.start_ns, plan.end_ns, plan.time_ns] {
        assert!(
            i64::try_from(ns / 1_000_000).is_ok(),
            "{ns} ns fits in i64 ms"
        );
    }
    let start = interval::prometheus_time(plan.start_ns);
    let end = interval::prometheus_time(plan.end_ns);
    let step = interval::prometheus_step(plan.step);
    Outcome::Accepted(format!(
        "{} from {start} to {end} step {step}: {}",
        plan.time_ns, plan.expr
    ))
}
