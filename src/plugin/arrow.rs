//! Frames to the Arrow IPC file format Grafana reads from a `DataResponse`.
//!
//! Written here rather than by the SDK's `Frame::to_arrow` because that
//! drops a field's labels when the field also has a config (the legend
//! travels in the config) and has no way to set the frame type. The layout
//! is the Go SDK's: schema metadata `name`, `refId`, `meta` (JSON); field
//! metadata `labels` and `config` (JSON); times as nanosecond timestamps.

use super::frames::{Field, Frame, Values};
use grafana_plugin_sdk::arrow2::array::{Array, PrimitiveArray, Utf8Array};
use grafana_plugin_sdk::arrow2::chunk::Chunk;
use grafana_plugin_sdk::arrow2::datatypes::{
    DataType, Field as ArrowField, Metadata, Schema, TimeUnit,
};
use grafana_plugin_sdk::arrow2::io::ipc::write::{FileWriter, WriteOptions};

#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("cannot write frame metadata as JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("cannot write frame {frame:?} as Arrow: {detail}")]
    Arrow { frame: String, detail: String },
}

/// Grafana's time type: nanoseconds, UTC.
fn time_type() -> DataType {
    DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".to_string()))
}

fn arrow_field(field: &Field) -> Result<ArrowField, EncodeError> {
    let (data_type, nullable) = match &field.values {
        Values::Time(_) => (time_type(), false),
        Values::Number(_) => (DataType::Float64, false),
        Values::NullableNumber(_) => (DataType::Float64, true),
        Values::Text(_) => (DataType::Utf8, false),
    };
    let mut metadata = Metadata::new();
    if let Some(labels) = &field.labels {
        metadata.insert("labels".to_string(), serde_json::to_string(labels)?);
    }
    if let Some(config) = &field.config {
        metadata.insert("config".to_string(), serde_json::to_string(config)?);
    }
    Ok(ArrowField::new(field.name.clone(), data_type, nullable).with_metadata(metadata))
}

fn arrow_array(values: &Values) -> Box<dyn Array> {
    match values {
        Values::Time(v) => Box::new(PrimitiveArray::<i64>::from_slice(v).to(time_type())),
        Values::Number(v) => Box::new(PrimitiveArray::<f64>::from_slice(v)),
        Values::NullableNumber(v) => Box::new(PrimitiveArray::<f64>::from(v.as_slice())),
        Values::Text(v) => Box::new(Utf8Array::<i32>::from_slice(v)),
    }
}

/// One frame as an Arrow IPC file, tagged with the query's `refId`.
pub fn encode(frame: &Frame, ref_id: &str) -> Result<Vec<u8>, EncodeError> {
    let arrow_error = |e: grafana_plugin_sdk::arrow2::error::Error| EncodeError::Arrow {
        frame: frame.name.clone(),
        detail: e.to_string(),
    };
    let fields = frame
        .fields
        .iter()
        .map(arrow_field)
        .collect::<Result<Vec<_>, _>>()?;
    let mut metadata = Metadata::new();
    metadata.insert("name".to_string(), frame.name.clone());
    metadata.insert("refId".to_string(), ref_id.to_string());
    metadata.insert("meta".to_string(), serde_json::to_string(&frame.meta)?);
    let schema = Schema::from(fields).with_metadata(metadata);
    let mut buf = Vec::new();
    let mut writer =
        FileWriter::try_new(&mut buf, schema, None, WriteOptions { compression: None })
            .map_err(arrow_error)?;
    if !frame.fields.is_empty() {
        let chunk = Chunk::try_new(
            frame
                .fields
                .iter()
                .map(|f| arrow_array(&f.values))
                .collect(),
        )
        .map_err(arrow_error)?;
        writer.write(&chunk, None).map_err(arrow_error)?;
    }
    writer.finish().map_err(arrow_error)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::frames::{FieldConfig, Meta};
    use grafana_plugin_sdk::arrow2::io::ipc::read::{read_file_metadata, FileReader};
    use std::io::Cursor;

    #[test]
    fn labels_and_config_both_survive() {
        let frame = Frame {
            name: "a".into(),
            meta: Meta {
                kind: Some("timeseries-multi"),
                ..Meta::default()
            },
            fields: vec![
                Field {
                    name: "Time".into(),
                    labels: None,
                    config: None,
                    values: Values::Time(vec![1, 2]),
                },
                Field {
                    name: "Value".into(),
                    labels: Some([("job".to_string(), "vllm".to_string())].into()),
                    config: Some(FieldConfig {
                        display_name_from_ds: Some("a".into()),
                        interval: None,
                    }),
                    values: Values::NullableNumber(vec![Some(1.0), None]),
                },
            ],
        };
        let bytes = encode(&frame, "A").expect("encodes");
        let mut cursor = Cursor::new(bytes);
        let md = read_file_metadata(&mut cursor).expect("an Arrow file");
        assert_eq!(md.schema.metadata["refId"], "A");
        assert!(md.schema.metadata["meta"].contains("\"type\":\"timeseries-multi\""));
        let value = &md.schema.fields[1];
        assert_eq!(value.metadata["labels"], r#"{"job":"vllm"}"#);
        assert_eq!(value.metadata["config"], r#"{"displayNameFromDS":"a"}"#);
        assert!(value.is_nullable);
        let chunks: Vec<_> = FileReader::new(cursor, md, None, None)
            .collect::<Result<_, _>>()
            .expect("chunks");
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].len(), 2);
    }
}
