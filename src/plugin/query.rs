//! The query model (Grafana's Prometheus query model, so dashboards switch
//! datasource without edits) and its per-query validation.
//!
//! Each query's JSON is parsed on its own from raw bytes: a malformed or
//! mistyped query becomes that query's error and never touches the others.

use super::interval::{self, IntervalError, StepInputs};
use grafana_plugin_sdk::pluginv2;
use serde_json::{Map, Value};
use std::time::Duration;

/// How results are shaped into frames (`format` in the query model).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One frame per series.
    TimeSeries,
    /// One frame: time, one column per label, value.
    Table,
    /// Histogram buckets as fields sorted by `le`.
    Heatmap,
}

/// A validated query.
#[derive(Clone, Debug, PartialEq)]
pub struct PromQuery {
    pub ref_id: String,
    /// PromQL as written (dashboard variables already replaced by Grafana;
    /// the `$__` built-ins are expanded by [`PromQuery::plan`]).
    pub expr: String,
    pub legend_format: String,
    pub instant: bool,
    pub range: bool,
    pub format: Format,
    /// Min step (`interval`), e.g. "30s" or "$__interval"; "" when unset.
    pub min_step: String,
    pub interval_factor: i64,
    pub utc_offset_sec: i64,
    pub interval_ms: i64,
    pub max_data_points: i64,
    pub from_ms: i64,
    pub to_ms: i64,
    /// Follow the series live (Grafana Live, direct mode only): the answer
    /// carries a channel that streams each scrape's values.
    pub live: bool,
}

/// A range query of `expr` over the first 10 s, for unit tests.
#[cfg(test)]
pub(crate) fn test_query(expr: &str, format: Format, legend: &str) -> PromQuery {
    PromQuery {
        ref_id: "A".into(),
        expr: expr.into(),
        legend_format: legend.into(),
        instant: false,
        range: true,
        format,
        min_step: String::new(),
        interval_factor: 0,
        utc_offset_sec: 0,
        interval_ms: 1000,
        max_data_points: 100,
        from_ms: 0,
        to_ms: 10_000,
        live: false,
    }
}

/// Why a query cannot run. Shown to the user under the query.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("the query JSON is malformed: {0}")]
    MalformedJson(String),
    #[error("the query JSON must be an object, got {0}")]
    NotAnObject(String),
    #[error("query field `{field}` must be {expected}, got {got}")]
    FieldType {
        field: &'static str,
        expected: &'static str,
        got: String,
    },
    #[error("the query has no PromQL expression: `expr` is empty")]
    MissingExpr,
    #[error("unknown format {0:?}: expected \"time_series\", \"table\" or \"heatmap\"")]
    UnknownFormat(String),
    #[error("the query has no time range")]
    NoTimeRange,
    #[error("the time range ends ({to_ms} ms) before it starts ({from_ms} ms)")]
    InvertedTimeRange { from_ms: i64, to_ms: i64 },
    #[error("min step `interval`: {0}")]
    MinStep(IntervalError),
    #[error("the time range aligned to the step falls outside the representable times")]
    TimeOutOfRange,
}

/// What to send for a query: expanded PromQL and the aligned window.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub expr: String,
    pub step: Duration,
    /// Range query bounds, aligned to the step (Unix nanoseconds).
    pub start_ns: i128,
    pub end_ns: i128,
    /// Instant query evaluation time: the end of the range, unaligned.
    pub time_ns: i128,
    /// Shown in Grafana's query inspector (`Expr: ...\nStep: ...`).
    pub executed: String,
}

struct Fields<'a>(&'a Map<String, Value>);

impl Fields<'_> {
    fn string(&self, field: &'static str) -> Result<String, QueryError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(type_error(field, "a string", other)),
        }
    }

    fn boolean(&self, field: &'static str) -> Result<bool, QueryError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(type_error(field, "true or false", other)),
        }
    }

    fn integer(&self, field: &'static str) -> Result<i64, QueryError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(0),
            Some(Value::Number(n)) => n
                .as_i64()
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
                .ok_or_else(|| type_error(field, "a whole number", &Value::Number(n.clone()))),
            Some(other) => Err(type_error(field, "a whole number", other)),
        }
    }
}

fn type_error(field: &'static str, expected: &'static str, got: &Value) -> QueryError {
    let mut got = got.to_string();
    if got.len() > 80 {
        let cut = (0..=80)
            .rev()
            .find(|i| got.is_char_boundary(*i))
            .unwrap_or(0);
        got.truncate(cut);
        got.push('…');
    }
    QueryError::FieldType {
        field,
        expected,
        got,
    }
}

/// Reads and validates one query as it arrives over gRPC.
pub fn parse(q: &pluginv2::DataQuery) -> Result<PromQuery, QueryError> {
    let json: Value = if q.json.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Map::new())
    } else {
        serde_json::from_slice(&q.json).map_err(|e| QueryError::MalformedJson(e.to_string()))?
    };
    let Value::Object(map) = &json else {
        return Err(QueryError::NotAnObject(json.to_string()));
    };
    let f = Fields(map);
    let expr = f.string("expr")?;
    if expr.trim().is_empty() {
        return Err(QueryError::MissingExpr);
    }
    let format = match f.string("format")?.as_str() {
        "" | "time_series" => Format::TimeSeries,
        "table" => Format::Table,
        "heatmap" => Format::Heatmap,
        other => return Err(QueryError::UnknownFormat(other.to_string())),
    };
    let instant = f.boolean("instant")?;
    // Older dashboards set neither: Grafana runs them as range queries.
    let range = f.boolean("range")? || !instant;
    let json_interval_ms = f.integer("intervalMs")?;
    let time_range = q.time_range.ok_or(QueryError::NoTimeRange)?;
    if time_range.to_epoch_ms < time_range.from_epoch_ms {
        return Err(QueryError::InvertedTimeRange {
            from_ms: time_range.from_epoch_ms,
            to_ms: time_range.to_epoch_ms,
        });
    }
    Ok(PromQuery {
        ref_id: q.ref_id.clone(),
        expr,
        legend_format: f.string("legendFormat")?,
        instant,
        range,
        format,
        min_step: f.string("interval")?.trim().to_string(),
        interval_factor: f.integer("intervalFactor")?,
        utc_offset_sec: match f.integer("utcOffsetSec")? {
            // Time zones are within ±14 h of UTC.
            s if (-86_400..=86_400).contains(&s) => s,
            _ => {
                return Err(type_error(
                    "utcOffsetSec",
                    "a UTC offset in seconds (at most a day)",
                    map.get("utcOffsetSec").unwrap_or(&Value::Null),
                ))
            }
        },
        interval_ms: if q.interval_ms > 0 {
            q.interval_ms
        } else {
            json_interval_ms
        },
        max_data_points: q.max_data_points,
        from_ms: time_range.from_epoch_ms,
        to_ms: time_range.to_epoch_ms,
        live: f.boolean("live")?,
    })
}

impl PromQuery {
    fn step_inputs<'a>(&'a self, scrape_interval: &'a str) -> StepInputs<'a> {
        StepInputs {
            from_ms: self.from_ms,
            to_ms: self.to_ms,
            interval_ms: self.interval_ms,
            max_data_points: self.max_data_points,
            min_step: &self.min_step,
            interval_factor: self.interval_factor,
            scrape_interval,
        }
    }

    /// The step, expanded PromQL and window, with the datasource's scrape
    /// interval (`timeInterval`, "" when unset).
    pub fn plan(&self, scrape_interval: &str) -> Result<Plan, QueryError> {
        self.plan_with_floor(scrape_interval, Duration::ZERO)
    }

    /// [`PromQuery::plan`] with a step never below `floor`: direct mode's
    /// scrape interval, as finer steps would only repeat the same samples.
    pub fn plan_with_floor(
        &self,
        scrape_interval: &str,
        floor: Duration,
    ) -> Result<Plan, QueryError> {
        let inputs = self.step_inputs(scrape_interval);
        let step = interval::step(&inputs)
            .map_err(QueryError::MinStep)?
            .max(floor);
        let expr = interval::expand_variables(&self.expr, &inputs, step);
        let executed = format!("Expr: {expr}\nStep: {}", interval::go_duration_string(step));
        let start_ns = interval::align_ns(self.from_ms, step, self.utc_offset_sec);
        let end_ns = interval::align_ns(self.to_ms, step, self.utc_offset_sec);
        // Backends work in i64 milliseconds: refuse what would not fit.
        if [start_ns, end_ns]
            .iter()
            .any(|ns| i64::try_from(ns.div_euclid(1_000_000)).is_err())
        {
            return Err(QueryError::TimeOutOfRange);
        }
        Ok(Plan {
            start_ns,
            end_ns,
            time_ns: i128::from(self.to_ms) * 1_000_000,
            expr,
            step,
            executed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn data_query(json: &[u8]) -> pluginv2::DataQuery {
        pluginv2::DataQuery {
            ref_id: "A".into(),
            max_data_points: 1000,
            interval_ms: 15_000,
            time_range: Some(pluginv2::TimeRange {
                from_epoch_ms: 1_700_000_000_000,
                to_epoch_ms: 1_700_003_600_000,
            }),
            json: json.to_vec(),
            query_type: String::new(),
        }
    }

    fn parse_json(v: Value) -> Result<PromQuery, QueryError> {
        parse(&data_query(&serde_json::to_vec(&v).unwrap_or_default()))
    }

    #[test]
    fn reads_grafanas_prometheus_query_model() {
        let q = parse_json(json!({
            "refId": "A", "expr": "up", "legendFormat": "{{instance}}", "instant": true,
            "range": false, "format": "table", "interval": "30s", "editorMode": "code",
            "datasource": {"type": "vllm-grafana-datasource", "uid": "x"}, "exemplar": false,
        }))
        .expect("valid");
        assert_eq!(q.format, Format::Table);
        assert!(q.instant && !q.range);
        assert_eq!(q.min_step, "30s");
        assert_eq!(q.legend_format, "{{instance}}");
        assert!(!q.live);
        let live = parse_json(json!({"expr": "up", "live": true})).expect("valid");
        assert!(live.live);
        assert!(parse_json(json!({"expr": "up", "live": "on"})).is_err());
        let old = parse_json(json!({"expr": "up"})).expect("valid");
        assert!(old.range && !old.instant && old.format == Format::TimeSeries);
    }

    #[test]
    fn each_problem_has_its_own_message() {
        assert!(matches!(
            parse(&data_query(b"{\"expr\": \"up\"")),
            Err(QueryError::MalformedJson(_))
        ));
        assert!(matches!(
            parse_json(json!(["up"])),
            Err(QueryError::NotAnObject(_))
        ));
        assert_eq!(
            parse_json(json!({"expr": "  "})),
            Err(QueryError::MissingExpr)
        );
        assert_eq!(
            parse_json(json!({"expr": "up", "format": "graph"})),
            Err(QueryError::UnknownFormat("graph".into()))
        );
        let e = parse_json(json!({"expr": "up", "instant": "yes"})).expect_err("type");
        assert_eq!(
            e.to_string(),
            "query field `instant` must be true or false, got \"yes\""
        );
        let mut no_range = data_query(b"{\"expr\":\"up\"}");
        no_range.time_range = None;
        assert_eq!(parse(&no_range), Err(QueryError::NoTimeRange));
        let q = parse_json(json!({"expr": "up", "interval": "fast"})).expect("parses");
        assert!(matches!(q.plan(""), Err(QueryError::MinStep(_))));
    }

    #[test]
    fn plan_expands_variables_and_aligns_the_window() {
        let q = parse_json(json!({"expr": "rate(x[$__rate_interval])"})).expect("valid");
        let plan = q.plan("15s").expect("plan");
        assert_eq!(plan.step, Duration::from_secs(15));
        assert_eq!(plan.expr, "rate(x[1m0s])");
        assert_eq!(plan.executed, "Expr: rate(x[1m0s])\nStep: 15s");
        assert_eq!(plan.start_ns % 15_000_000_000, 0);
        assert!(plan.end_ns <= plan.time_ns);
    }
}
