//! Prometheus remote-write requests (protobuf `WriteRequest`, snappy block
//! compression), encoded by hand: the message has four small types, and the
//! test only ever writes it. Used to load samples Prometheus cannot import
//! from text, such as staleness markers.

use std::collections::BTreeMap;

/// Sorted labels, `__name__` included.
pub type SeriesLabels = Vec<(String, String)>;

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A length-delimited field (wire type 2).
fn bytes_field(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    varint(out, u64::from(field << 3 | 2));
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn label(name: &str, value: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + value.len() + 4);
    bytes_field(&mut out, 1, name.as_bytes());
    bytes_field(&mut out, 2, value.as_bytes());
    out
}

fn sample(ts_ms: i64, value: f64) -> Vec<u8> {
    let mut out = Vec::with_capacity(20);
    out.push(1 << 3 | 1); // field 1, 64-bit: the value's bits, NaN payloads kept
    out.extend_from_slice(&value.to_bits().to_le_bytes());
    varint(&mut out, 2 << 3); // field 2, varint
    varint(&mut out, ts_ms as u64);
    out
}

/// One `WriteRequest` holding `series` (each with time-ordered samples),
/// snappy-compressed as the receiver expects.
pub fn encode(series: &BTreeMap<SeriesLabels, Vec<(i64, f64)>>) -> Vec<u8> {
    let mut request = Vec::new();
    for (labels, samples) in series {
        let mut ts = Vec::new();
        for (k, v) in labels {
            bytes_field(&mut ts, 1, &label(k, v));
        }
        for &(t, v) in samples {
            bytes_field(&mut ts, 2, &sample(t, v));
        }
        bytes_field(&mut request, 1, &ts);
    }
    snap::raw::Encoder::new()
        .compress_vec(&request)
        .expect("snappy accepts any input below 4 GiB")
}
