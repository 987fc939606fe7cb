//! Instant answers as `labels → value`, from the HTTP API or from the
//! plugin's frames, so that tests can compare backends and the plugin.

use super::frames::Frame;
use std::collections::BTreeMap;

/// Sorted `k=v` pairs to the last value.
pub type Answers = BTreeMap<String, f64>;

/// A label set as one sortable key, `a=1,b=2`.
pub fn key(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The `data` of an `/api/v1/query` answer (vector or scalar).
pub fn from_api(data: &serde_json::Value) -> Answers {
    let one = |s: &serde_json::Value| {
        let labels: BTreeMap<String, String> =
            serde_json::from_value(s["metric"].clone()).unwrap_or_default();
        let v = s["value"][1]
            .as_str()
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN);
        (key(&labels), v)
    };
    match data["resultType"].as_str() {
        Some("scalar") => [(
            String::new(),
            one(&serde_json::json!({"value": data["result"]})).1,
        )]
        .into_iter()
        .collect(),
        _ => data["result"]
            .as_array()
            .into_iter()
            .flatten()
            .map(one)
            .collect(),
    }
}

/// The last value of every numeric field of the plugin's frames.
pub fn from_frames(frames: &[Frame]) -> Answers {
    frames
        .iter()
        .flat_map(|f| f.fields.iter())
        .filter(|f| !f.numbers().is_empty())
        .map(|f| {
            let labels = f.labels.clone().unwrap_or_default();
            (
                key(&labels),
                f.numbers().last().copied().flatten().unwrap_or(f64::NAN),
            )
        })
        .collect()
}
