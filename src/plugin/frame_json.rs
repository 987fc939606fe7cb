//! Frames in Grafana's data frame JSON (`data.FrameJSON` of the Go SDK),
//! the payload of Grafana Live packets (`StreamPacket.data`).
//!
//! Layout: `{"schema": {name, refId, meta, fields: [{name, type, typeInfo,
//! labels, config}]}, "data": {"values": [[...], ...], "entities": [...],
//! "nanos": [...]}}`. Times are Unix milliseconds with the sub-millisecond
//! rest in `nanos`; numbers JSON cannot hold (NaN, ±Inf) are written as
//! `null` and listed per field in `entities`, as the Go SDK does, so the
//! frontend restores them.

use super::frames::{Field, Frame, Values};
use serde_json::{json, Map, Value};

#[derive(Debug, thiserror::Error)]
pub enum JsonFrameError {
    #[error("field {field:?} has {got} values, the frame {expected}")]
    Ragged {
        field: String,
        got: usize,
        expected: usize,
    },
    #[error("cannot write frame metadata as JSON: {0}")]
    Meta(#[from] serde_json::Error),
}

fn len(values: &Values) -> usize {
    match values {
        Values::Time(v) => v.len(),
        Values::Number(v) => v.len(),
        Values::NullableNumber(v) => v.len(),
        Values::Text(v) => v.len(),
    }
}

/// `type` and `typeInfo` of a field, as the Go SDK names them.
fn field_type(values: &Values) -> (&'static str, Value) {
    match values {
        Values::Time(_) => ("time", json!({ "frame": "time.Time" })),
        Values::Number(_) => ("number", json!({ "frame": "float64" })),
        Values::NullableNumber(_) => ("number", json!({ "frame": "float64", "nullable": true })),
        Values::Text(_) => ("string", json!({ "frame": "string" })),
    }
}

fn schema_field(field: &Field) -> Result<Value, JsonFrameError> {
    let (kind, type_info) = field_type(&field.values);
    let mut out = Map::new();
    out.insert("name".into(), Value::from(field.name.clone()));
    out.insert("type".into(), Value::from(kind));
    out.insert("typeInfo".into(), type_info);
    if let Some(labels) = &field.labels {
        out.insert("labels".into(), serde_json::to_value(labels)?);
    }
    if let Some(config) = &field.config {
        out.insert("config".into(), serde_json::to_value(config)?);
    }
    Ok(Value::Object(out))
}

/// Where a column has NaN or infinite numbers (`null` in `values`).
#[derive(Default)]
struct Entities {
    nan: Vec<usize>,
    inf: Vec<usize>,
    neg_inf: Vec<usize>,
}

impl Entities {
    fn number(&mut self, row: usize, v: f64) -> Value {
        if v.is_nan() {
            self.nan.push(row);
        } else if v == f64::INFINITY {
            self.inf.push(row);
        } else if v == f64::NEG_INFINITY {
            self.neg_inf.push(row);
        } else {
            return Value::from(v);
        }
        Value::Null
    }

    fn into_json(self) -> Value {
        if self.nan.is_empty() && self.inf.is_empty() && self.neg_inf.is_empty() {
            return Value::Null;
        }
        let mut out = Map::new();
        for (key, rows) in [
            ("NaN", self.nan),
            ("Inf", self.inf),
            ("NegInf", self.neg_inf),
        ] {
            if !rows.is_empty() {
                out.insert(key.into(), json!(rows));
            }
        }
        Value::Object(out)
    }
}

/// One column's `values`, its entities and its sub-millisecond rests.
fn column(values: &Values) -> (Value, Value, Option<Vec<i64>>) {
    let mut entities = Entities::default();
    match values {
        Values::Time(ns) => {
            let ms: Vec<i64> = ns.iter().map(|t| t.div_euclid(1_000_000)).collect();
            let rest: Vec<i64> = ns.iter().map(|t| t.rem_euclid(1_000_000)).collect();
            let nanos = rest.iter().any(|r| *r != 0).then_some(rest);
            (json!(ms), Value::Null, nanos)
        }
        Values::Number(v) => {
            let out: Vec<Value> = v
                .iter()
                .enumerate()
                .map(|(i, x)| entities.number(i, *x))
                .collect();
            (Value::Array(out), entities.into_json(), None)
        }
        Values::NullableNumber(v) => {
            let out: Vec<Value> = v
                .iter()
                .enumerate()
                .map(|(i, x)| x.map_or(Value::Null, |x| entities.number(i, x)))
                .collect();
            (Value::Array(out), entities.into_json(), None)
        }
        Values::Text(v) => (json!(v), Value::Null, None),
    }
}

/// The frame, schema and data, as Grafana's frame JSON.
pub fn encode(frame: &Frame, ref_id: &str) -> Result<Vec<u8>, JsonFrameError> {
    let rows = frame.fields.first().map_or(0, |f| len(&f.values));
    let mut fields = Vec::with_capacity(frame.fields.len());
    let mut values = Vec::with_capacity(frame.fields.len());
    let mut entities = Vec::with_capacity(frame.fields.len());
    let mut nanos = Vec::with_capacity(frame.fields.len());
    for field in &frame.fields {
        let got = len(&field.values);
        if got != rows {
            return Err(JsonFrameError::Ragged {
                field: field.name.clone(),
                got,
                expected: rows,
            });
        }
        fields.push(schema_field(field)?);
        let (v, e, n) = column(&field.values);
        values.push(v);
        entities.push(e);
        nanos.push(n.map_or(Value::Null, |n| json!(n)));
    }
    let mut schema = Map::new();
    if !frame.name.is_empty() {
        schema.insert("name".into(), Value::from(frame.name.clone()));
    }
    if !ref_id.is_empty() {
        schema.insert("refId".into(), Value::from(ref_id));
    }
    let meta = serde_json::to_value(&frame.meta)?;
    if meta.as_object().is_some_and(|m| !m.is_empty()) {
        schema.insert("meta".into(), meta);
    }
    schema.insert("fields".into(), Value::Array(fields));
    let mut data = Map::new();
    data.insert("values".into(), Value::Array(values));
    if entities.iter().any(|e| !e.is_null()) {
        data.insert("entities".into(), Value::Array(entities));
    }
    if nanos.iter().any(|n| !n.is_null()) {
        data.insert("nanos".into(), Value::Array(nanos));
    }
    Ok(serde_json::to_vec(
        &json!({ "schema": schema, "data": data }),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::frames::{FieldConfig, Meta};

    fn frame() -> Frame {
        Frame {
            name: "queue".into(),
            meta: Meta {
                channel: Some("ds/x/q1/abc".into()),
                ..Meta::default()
            },
            fields: vec![
                Field {
                    name: "Time".into(),
                    labels: None,
                    config: None,
                    values: Values::Time(vec![
                        1_700_000_000_000_000_000,
                        1_700_000_001_000_000_500,
                    ]),
                },
                Field {
                    name: "m".into(),
                    labels: Some([("model_name".to_string(), "m".to_string())].into()),
                    config: Some(FieldConfig {
                        display_name_from_ds: Some("m".into()),
                        ..FieldConfig::default()
                    }),
                    values: Values::NullableNumber(vec![Some(f64::NAN), None]),
                },
                Field {
                    name: "n".into(),
                    labels: None,
                    config: None,
                    values: Values::Number(vec![1.5, f64::NEG_INFINITY]),
                },
            ],
        }
    }

    #[test]
    fn writes_schema_and_data_like_the_go_sdk() {
        let bytes = encode(&frame(), "A").expect("encodes");
        let v: Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(v["schema"]["name"], "queue");
        assert_eq!(v["schema"]["refId"], "A");
        assert_eq!(v["schema"]["meta"]["channel"], "ds/x/q1/abc");
        let fields = &v["schema"]["fields"];
        assert_eq!(fields[0]["type"], "time");
        assert_eq!(fields[0]["typeInfo"]["frame"], "time.Time");
        assert_eq!(fields[1]["type"], "number");
        assert_eq!(fields[1]["typeInfo"]["nullable"], true);
        assert_eq!(fields[1]["labels"]["model_name"], "m");
        assert_eq!(fields[1]["config"]["displayNameFromDS"], "m");
        assert_eq!(
            v["data"]["values"],
            json!([
                [1_700_000_000_000_i64, 1_700_000_001_000_i64],
                [null, null],
                [1.5, null]
            ])
        );
        assert_eq!(
            v["data"]["entities"],
            json!([null, {"NaN": [0]}, {"NegInf": [1]}])
        );
        assert_eq!(v["data"]["nanos"], json!([[0, 500], null, null]));
    }

    #[test]
    fn ragged_frames_are_refused() {
        let mut f = frame();
        f.fields[2].values = Values::Number(vec![1.0]);
        assert!(matches!(
            encode(&f, "A"),
            Err(JsonFrameError::Ragged { got: 1, .. })
        ));
    }
}
