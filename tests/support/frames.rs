//! Reads the plugin's frames back with the `arrow` crates' IPC reader, an
//! implementation independent of the one that wrote them, and checks them
//! the way Grafana's Go SDK reads them: schema metadata `name`, `refId`,
//! `meta` (JSON); field metadata `labels` and `config` (JSON); times as
//! nanosecond timestamps; numbers as float64; strings as UTF-8.

use arrow_array::{Array, Float64Array, RecordBatch, StringArray, TimestampNanosecondArray};
use arrow_schema::{DataType, TimeUnit};
use grafana_plugin_sdk::pluginv2;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Cursor;

#[derive(Clone, Debug, PartialEq)]
pub enum Column {
    /// Unix nanoseconds.
    Time(Vec<i64>),
    Number(Vec<Option<f64>>),
    Text(Vec<String>),
}

#[derive(Clone, Debug)]
pub struct Field {
    pub name: String,
    /// `None` when the field has no `labels` metadata at all.
    pub labels: Option<BTreeMap<String, String>>,
    pub config: Value,
    pub nullable: bool,
    pub column: Column,
}

impl Field {
    /// `config.displayNameFromDS`.
    pub fn display_name(&self) -> Option<&str> {
        self.config["displayNameFromDS"].as_str()
    }

    pub fn numbers(&self) -> Vec<Option<f64>> {
        match &self.column {
            Column::Number(v) => v.clone(),
            _ => Vec::new(),
        }
    }

    pub fn times(&self) -> Vec<i64> {
        match &self.column {
            Column::Time(v) => v.clone(),
            _ => Vec::new(),
        }
    }

    pub fn texts(&self) -> Vec<String> {
        match &self.column {
            Column::Text(v) => v.clone(),
            _ => Vec::new(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Frame {
    pub name: String,
    pub ref_id: String,
    pub meta: Value,
    pub fields: Vec<Field>,
}

impl Frame {
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// `meta.type`.
    pub fn kind(&self) -> Option<&str> {
        self.meta["type"].as_str()
    }
}

fn json_metadata(
    map: &std::collections::HashMap<String, String>,
    key: &str,
) -> Result<Option<Value>, String> {
    map.get(key)
        .map(|s| {
            serde_json::from_str(s).map_err(|e| format!("metadata {key} is not JSON ({e}): {s}"))
        })
        .transpose()
}

fn column(array: &dyn Array, data_type: &DataType) -> Result<Column, String> {
    match data_type {
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            let a = array
                .as_any()
                .downcast_ref::<TimestampNanosecondArray>()
                .ok_or("timestamp column of another array type")?;
            if a.null_count() > 0 {
                return Err("null timestamps".into());
            }
            Ok(Column::Time(a.values().to_vec()))
        }
        DataType::Float64 => {
            let a = array
                .as_any()
                .downcast_ref::<Float64Array>()
                .ok_or("float64 column of another array type")?;
            Ok(Column::Number(a.iter().collect()))
        }
        DataType::Utf8 => {
            let a = array
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or("utf8 column of another array type")?;
            Ok(Column::Text(
                a.iter().map(|s| s.unwrap_or("").to_string()).collect(),
            ))
        }
        other => Err(format!(
            "a type Grafana's frames do not use here: {other:?}"
        )),
    }
}

fn append(into: &mut Column, more: Column) -> Result<(), String> {
    match (into, more) {
        (Column::Time(a), Column::Time(b)) => a.extend(b),
        (Column::Number(a), Column::Number(b)) => a.extend(b),
        (Column::Text(a), Column::Text(b)) => a.extend(b),
        _ => return Err("column type changed between batches".into()),
    }
    Ok(())
}

/// Decodes one Arrow IPC file as Grafana would.
pub fn decode(bytes: &[u8]) -> Result<Frame, String> {
    let reader = arrow_ipc::reader::FileReader::try_new(Cursor::new(bytes), None)
        .map_err(|e| format!("not an Arrow IPC file: {e}"))?;
    let schema = reader.schema();
    let md = schema.metadata();
    let name = md
        .get("name")
        .cloned()
        .ok_or("schema metadata has no name")?;
    let ref_id = md
        .get("refId")
        .cloned()
        .ok_or("schema metadata has no refId")?;
    let meta = json_metadata(md, "meta")?.unwrap_or(Value::Null);
    let mut fields: Vec<Field> = Vec::new();
    for f in schema.fields() {
        let labels = json_metadata(f.metadata(), "labels")?
            .map(|v| {
                serde_json::from_value::<BTreeMap<String, String>>(v)
                    .map_err(|e| format!("labels: {e}"))
            })
            .transpose()?;
        let empty = match f.data_type() {
            DataType::Timestamp(..) => Column::Time(Vec::new()),
            DataType::Float64 => Column::Number(Vec::new()),
            _ => Column::Text(Vec::new()),
        };
        fields.push(Field {
            name: f.name().clone(),
            labels,
            config: json_metadata(f.metadata(), "config")?.unwrap_or(Value::Null),
            nullable: f.is_nullable(),
            column: empty,
        });
    }
    for batch in reader {
        let batch: RecordBatch = batch.map_err(|e| format!("bad record batch: {e}"))?;
        for (i, field) in fields.iter_mut().enumerate() {
            let array = batch.column(i);
            let more = column(array.as_ref(), schema.field(i).data_type())?;
            append(&mut field.column, more)?;
        }
    }
    Ok(Frame {
        name,
        ref_id,
        meta,
        fields,
    })
}

/// Decodes every frame of one query's response; fails on a query error.
pub fn frames_of(resp: &pluginv2::QueryDataResponse, ref_id: &str) -> Result<Vec<Frame>, String> {
    let r = resp
        .responses
        .get(ref_id)
        .ok_or_else(|| format!("no response for refId {ref_id}"))?;
    if !r.error.is_empty() {
        return Err(format!("query {ref_id} failed ({}): {}", r.status, r.error));
    }
    r.frames.iter().map(|b| decode(b)).collect()
}

/// The error of one query's response (empty when it succeeded).
pub fn error_of(resp: &pluginv2::QueryDataResponse, ref_id: &str) -> String {
    resp.responses
        .get(ref_id)
        .map(|r| r.error.clone())
        .unwrap_or_else(|| format!("<no response for {ref_id}>"))
}
