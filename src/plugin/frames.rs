//! Grafana data frames from query results.
//!
//! Shapes follow Grafana's Prometheus datasource so panels, transformations
//! and alert rules behave the same with either datasource:
//!
//! * `time_series`: one frame per series, `Time` + `Value`; the value field
//!   carries the series labels *and* `config.displayNameFromDS` (the
//!   resolved `legendFormat`), the frame is named after the legend too.
//!   Range results are typed `timeseries-multi`, instant ones
//!   `numeric-multi` (dataplane 0.1), which alerting reads directly.
//! * `table`: one frame, `Time`, one string column per label (sorted),
//!   `Value` (`Value #<refId>` when the request has several table queries,
//!   as Grafana names it).
//! * `heatmap`: per label set without `le`, one frame whose fields are the
//!   buckets sorted by `le`, de-accumulated like Grafana's frontend does.

use super::backend::{Labels, Point, QueryResult, ResultData, Series};
use super::legend;
use super::query::{Format, Plan, PromQuery};
use serde::Serialize;
use std::collections::BTreeMap;

pub const TIME_FIELD: &str = "Time";
pub const VALUE_FIELD: &str = "Value";

/// Frame types of Grafana's dataplane contract.
pub const TIMESERIES_MULTI: &str = "timeseries-multi";
pub const TIMESERIES_LONG: &str = "timeseries-long";
pub const NUMERIC_MULTI: &str = "numeric-multi";
pub const NUMERIC_LONG: &str = "numeric-long";
pub const HEATMAP_ROWS: &str = "heatmap-rows";
const DATAPLANE_VERSION: [u32; 2] = [0, 1];

/// A data frame, serialised to Arrow by [`super::arrow`].
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    pub name: String,
    pub meta: Meta,
    pub fields: Vec<Field>,
}

/// `frame.meta`, as Grafana's Go SDK writes it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub type_version: Option<[u32; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executed_query_string: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<Notice>,
    /// The Grafana Live channel that continues this frame (`ds/<uid>/<path>`):
    /// Grafana subscribes to it and appends each packet to the frame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
}

impl Meta {
    fn typed(kind: &'static str) -> Meta {
        Meta {
            kind: Some(kind),
            type_version: Some(DATAPLANE_VERSION),
            ..Meta::default()
        }
    }
}

/// A message shown above the panel (Prometheus warnings and infos).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Notice {
    pub severity: &'static str,
    pub text: String,
}

/// `field.config`: only what the plugin sets.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct FieldConfig {
    #[serde(rename = "displayNameFromDS", skip_serializing_if = "Option::is_none")]
    pub display_name_from_ds: Option<String>,
    /// The step in milliseconds, on time fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub name: String,
    pub labels: Option<Labels>,
    pub config: Option<FieldConfig>,
    pub values: Values,
}

/// A column's values.
#[derive(Clone, Debug, PartialEq)]
pub enum Values {
    /// Unix nanoseconds.
    Time(Vec<i64>),
    Number(Vec<f64>),
    /// Numbers with gaps (heatmap buckets missing at some timestamps).
    NullableNumber(Vec<Option<f64>>),
    Text(Vec<String>),
}

fn ns(t_ms: i64) -> i64 {
    t_ms.saturating_mul(1_000_000)
}

fn time_field(points: &[Point], step_ms: Option<f64>) -> Field {
    Field {
        name: TIME_FIELD.to_string(),
        labels: None,
        config: step_ms.map(|ms| FieldConfig {
            interval: Some(ms),
            ..FieldConfig::default()
        }),
        values: Values::Time(points.iter().map(|p| ns(p.t_ms)).collect()),
    }
}

/// Name of the value column of a table query, as Grafana's frontend names it.
pub fn table_value_name(ref_id: &str, table_queries_in_request: usize) -> String {
    if table_queries_in_request > 1 {
        format!("{VALUE_FIELD} #{ref_id}")
    } else {
        VALUE_FIELD.to_string()
    }
}

/// Builds the frames of one query's result.
pub fn build(query: &PromQuery, plan: &Plan, result: QueryResult, table_value: &str) -> Vec<Frame> {
    let step_ms = plan.step.as_secs_f64() * 1000.0;
    let result_type = result.data.type_name();
    let (mut frames, empty_kind) = match (query.format, result.data) {
        (_, ResultData::String { t_ms, value }) => (string_frame(t_ms, value), None),
        (Format::Table, data) => {
            let long_kind = if matches!(data, ResultData::Matrix(_)) {
                TIMESERIES_LONG
            } else {
                NUMERIC_LONG
            };
            (
                vec![table_frame(series_of(data), table_value, long_kind)],
                None,
            )
        }
        (Format::Heatmap, ResultData::Matrix(series) | ResultData::Vector(series)) => {
            (heatmap_frames(series, query, step_ms), Some(HEATMAP_ROWS))
        }
        (_, ResultData::Matrix(series)) => (
            series_frames(series, query, Some(step_ms), TIMESERIES_MULTI),
            Some(TIMESERIES_MULTI),
        ),
        (_, data) => (
            series_frames(series_of(data), query, None, NUMERIC_MULTI),
            Some(NUMERIC_MULTI),
        ),
    };
    if frames.is_empty() {
        // An empty typed frame still carries the query string and notices,
        // and tells alerting "no data" rather than "bad data".
        frames.push(Frame {
            name: String::new(),
            meta: empty_kind.map(Meta::typed).unwrap_or_default(),
            fields: Vec::new(),
        });
    }
    let notices: Vec<Notice> = result
        .warnings
        .into_iter()
        .map(|text| Notice {
            severity: "warning",
            text,
        })
        .chain(result.infos.into_iter().map(|text| Notice {
            severity: "info",
            text,
        }))
        .collect();
    for (i, frame) in frames.iter_mut().enumerate() {
        frame.meta.custom = Some(serde_json::json!({ "resultType": result_type }));
        frame.meta.notices = notices.clone();
        if i == 0 {
            frame.meta.executed_query_string = Some(plan.executed.clone());
        }
    }
    frames
}

/// Instant vectors, matrices and scalars as a list of series.
fn series_of(data: ResultData) -> Vec<Series> {
    match data {
        ResultData::Matrix(s) | ResultData::Vector(s) => s,
        ResultData::Scalar(p) => vec![Series {
            labels: Labels::new(),
            points: vec![p],
        }],
        ResultData::String { .. } => Vec::new(),
    }
}

/// One frame per series, named after its legend.
fn series_frames(
    series: Vec<Series>,
    query: &PromQuery,
    step_ms: Option<f64>,
    kind: &'static str,
) -> Vec<Frame> {
    series
        .into_iter()
        .map(|s| {
            let name = legend::series_name(&query.legend_format, &s.labels, &query.expr);
            let config = (!name.is_empty()).then(|| FieldConfig {
                display_name_from_ds: Some(name.clone()),
                ..FieldConfig::default()
            });
            Frame {
                name,
                meta: Meta::typed(kind),
                fields: vec![
                    time_field(&s.points, step_ms),
                    Field {
                        name: VALUE_FIELD.to_string(),
                        values: Values::Number(s.points.iter().map(|p| p.v).collect()),
                        labels: Some(s.labels),
                        config,
                    },
                ],
            }
        })
        .collect()
}

/// One frame with a row per sample: time, labels, value.
fn table_frame(series: Vec<Series>, value_name: &str, kind: &'static str) -> Frame {
    let mut keys: Vec<&String> = series.iter().flat_map(|s| s.labels.keys()).collect();
    keys.sort_unstable();
    keys.dedup();
    let mut rows: Vec<(i64, usize, f64)> = series
        .iter()
        .enumerate()
        .flat_map(|(i, s)| s.points.iter().map(move |p| (p.t_ms, i, p.v)))
        .collect();
    // Long frames are ordered by time (series order within a timestamp).
    rows.sort_by_key(|&(t, i, _)| (t, i));
    let mut fields = vec![Field {
        name: TIME_FIELD.to_string(),
        labels: None,
        config: None,
        values: Values::Time(rows.iter().map(|&(t, _, _)| ns(t)).collect()),
    }];
    for key in keys {
        fields.push(Field {
            name: key.clone(),
            labels: None,
            config: None,
            values: Values::Text(
                rows.iter()
                    .map(|&(_, i, _)| series[i].labels.get(key).cloned().unwrap_or_default())
                    .collect(),
            ),
        });
    }
    fields.push(Field {
        name: value_name.to_string(),
        labels: None,
        config: None,
        values: Values::Number(rows.iter().map(|&(_, _, v)| v).collect()),
    });
    Frame {
        name: String::new(),
        meta: Meta::typed(kind),
        fields,
    }
}

/// A bucket bound as a number for sorting (`+Inf` last, unparsable after it).
fn le_bound(labels: &Labels) -> f64 {
    labels
        .get("le")
        .and_then(|le| le.parse::<f64>().ok())
        .unwrap_or(f64::NAN)
}

/// Per label set without `le`: one frame, a field per bucket sorted by
/// `le`, each holding its own bucket's count (cumulative counts minus the
/// bucket below).
fn heatmap_frames(series: Vec<Series>, query: &PromQuery, step_ms: f64) -> Vec<Frame> {
    let mut groups: BTreeMap<Labels, Vec<Series>> = BTreeMap::new();
    for s in series {
        let mut key = s.labels.clone();
        key.remove("le");
        groups.entry(key).or_default().push(s);
    }
    groups
        .into_values()
        .map(|mut buckets| {
            buckets.sort_by(|a, b| le_bound(&a.labels).total_cmp(&le_bound(&b.labels)));
            let mut times: Vec<i64> = buckets
                .iter()
                .flat_map(|b| b.points.iter().map(|p| p.t_ms))
                .collect();
            times.sort_unstable();
            times.dedup();
            let mut columns: Vec<Vec<Option<f64>>> = buckets
                .iter()
                .map(|b| {
                    let mut col = vec![None; times.len()];
                    for p in &b.points {
                        if let Ok(row) = times.binary_search(&p.t_ms) {
                            col[row] = Some(p.v);
                        }
                    }
                    col
                })
                .collect();
            for i in (1..columns.len()).rev() {
                let (below, above) = columns.split_at_mut(i);
                for (top, bottom) in above[0].iter_mut().zip(&below[i - 1]) {
                    if let Some(top) = top {
                        *top -= bottom.unwrap_or(0.0);
                    }
                }
            }
            let explicit_legend =
                !query.legend_format.is_empty() && query.legend_format != legend::AUTO;
            let mut fields = vec![Field {
                name: TIME_FIELD.to_string(),
                labels: None,
                config: Some(FieldConfig {
                    interval: Some(step_ms),
                    ..FieldConfig::default()
                }),
                values: Values::Time(times.iter().map(|&t| ns(t)).collect()),
            }];
            for (bucket, column) in buckets.into_iter().zip(columns) {
                let le = bucket.labels.get("le").cloned().unwrap_or_default();
                let display = if explicit_legend {
                    legend::series_name(&query.legend_format, &bucket.labels, &query.expr)
                } else {
                    le.clone()
                };
                let values = if column.iter().all(Option::is_some) {
                    Values::Number(column.into_iter().flatten().collect())
                } else {
                    Values::NullableNumber(column)
                };
                fields.push(Field {
                    name: le,
                    labels: Some(bucket.labels),
                    config: Some(FieldConfig {
                        display_name_from_ds: Some(display),
                        ..FieldConfig::default()
                    }),
                    values,
                });
            }
            Frame {
                name: String::new(),
                meta: Meta {
                    kind: Some(HEATMAP_ROWS),
                    ..Meta::default()
                },
                fields,
            }
        })
        .collect()
}

/// A string result: time and text, untyped (it is no time series).
fn string_frame(t_ms: i64, value: String) -> Vec<Frame> {
    vec![Frame {
        name: String::new(),
        meta: Meta::default(),
        fields: vec![
            Field {
                name: TIME_FIELD.to_string(),
                labels: None,
                config: None,
                values: Values::Time(vec![ns(t_ms)]),
            },
            Field {
                name: VALUE_FIELD.to_string(),
                labels: None,
                config: None,
                values: Values::Text(vec![value]),
            },
        ],
    }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn query(format: Format, legend: &str) -> PromQuery {
        crate::plugin::query::test_query("x", format, legend)
    }

    fn plan() -> Plan {
        Plan {
            expr: "x".into(),
            step: Duration::from_secs(1),
            start_ns: 0,
            end_ns: 0,
            time_ns: 0,
            executed: "Expr: x\nStep: 1s".into(),
        }
    }

    fn series(pairs: &[(&str, &str)], points: &[(i64, f64)]) -> Series {
        Series {
            labels: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            points: points.iter().map(|&(t_ms, v)| Point { t_ms, v }).collect(),
        }
    }

    fn result(data: ResultData) -> QueryResult {
        QueryResult {
            data,
            warnings: vec!["careful".into()],
            infos: vec![],
        }
    }

    #[test]
    fn time_series_frames_keep_labels_and_legend() {
        let data = ResultData::Matrix(vec![
            series(&[("instance", "a")], &[(1000, 1.0), (2000, 2.0)]),
            series(&[("instance", "b")], &[(1000, 3.0)]),
        ]);
        let frames = build(
            &query(Format::TimeSeries, "{{instance}}"),
            &plan(),
            result(data),
            "Value",
        );
        assert_eq!(frames.len(), 2);
        let f = &frames[0];
        assert_eq!(f.name, "a");
        assert_eq!(f.meta.kind, Some(TIMESERIES_MULTI));
        assert_eq!(
            f.meta.executed_query_string.as_deref(),
            Some("Expr: x\nStep: 1s")
        );
        assert_eq!(f.meta.notices[0].text, "careful");
        assert_eq!(frames[1].meta.executed_query_string, None);
        let value = &f.fields[1];
        assert_eq!(
            value.labels.as_ref().map(|l| l["instance"].as_str()),
            Some("a")
        );
        assert_eq!(
            value
                .config
                .as_ref()
                .and_then(|c| c.display_name_from_ds.as_deref()),
            Some("a")
        );
        assert_eq!(
            f.fields[0].values,
            Values::Time(vec![1_000_000_000, 2_000_000_000])
        );
    }

    #[test]
    fn tables_have_a_column_per_label_and_rows_by_time() {
        let data = ResultData::Matrix(vec![
            series(&[("b", "1")], &[(2000, 1.0), (1000, 2.0)]),
            series(&[("a", "x")], &[(1000, 3.0)]),
        ]);
        let frames = build(&query(Format::Table, ""), &plan(), result(data), "Value #A");
        let names: Vec<&str> = frames[0].fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["Time", "a", "b", "Value #A"]);
        assert_eq!(
            frames[0].fields[3].values,
            Values::Number(vec![2.0, 3.0, 1.0])
        );
        assert_eq!(
            frames[0].fields[1].values,
            Values::Text(vec!["".into(), "x".into(), "".into()])
        );
        assert_eq!(frames[0].meta.kind, Some(TIMESERIES_LONG));
        assert_eq!(table_value_name("B", 1), "Value");
        assert_eq!(table_value_name("B", 2), "Value #B");
    }

    #[test]
    fn heatmap_buckets_are_sorted_and_de_accumulated() {
        let data = ResultData::Matrix(vec![
            series(&[("le", "+Inf")], &[(1000, 10.0), (2000, 12.0)]),
            series(&[("le", "0.5")], &[(1000, 4.0), (2000, 5.0)]),
            series(&[("le", "0.1")], &[(1000, 1.0)]),
        ]);
        let frames = build(
            &query(Format::Heatmap, "{{le}}"),
            &plan(),
            result(data),
            "Value",
        );
        assert_eq!(frames.len(), 1);
        let f = &frames[0];
        let names: Vec<&str> = f.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["Time", "0.1", "0.5", "+Inf"]);
        assert_eq!(
            f.fields[1].values,
            Values::NullableNumber(vec![Some(1.0), None])
        );
        assert_eq!(f.fields[2].values, Values::Number(vec![3.0, 5.0]));
        assert_eq!(f.fields[3].values, Values::Number(vec![6.0, 7.0]));
    }

    #[test]
    fn empty_results_still_carry_type_and_query() {
        let frames = build(
            &query(Format::TimeSeries, ""),
            &plan(),
            result(ResultData::Vector(vec![])),
            "Value",
        );
        assert_eq!(frames.len(), 1);
        assert!(frames[0].fields.is_empty());
        assert_eq!(frames[0].meta.kind, Some(NUMERIC_MULTI));
        assert!(frames[0].meta.executed_query_string.is_some());
    }

    #[test]
    fn scalars_are_named_after_the_query() {
        let frames = build(
            &query(Format::TimeSeries, ""),
            &plan(),
            result(ResultData::Scalar(Point { t_ms: 5, v: 1.5 })),
            "Value",
        );
        assert_eq!(frames[0].name, "x");
        assert_eq!(frames[0].fields[1].values, Values::Number(vec![1.5]));
    }
}
