//! Test and benchmark inputs built from the real vLLM captures (std only, and
//! independent of the parser under test).
#![allow(dead_code)]

pub const CAPTURE_01: &str =
    include_str!("../fixtures/vllm-metrics/01-v1-0.11-full-hardware-aware-router.txt");
pub const CAPTURE_02: &str =
    include_str!("../fixtures/vllm-metrics/02-v1-0.2x-full-vllm-metal-macos.txt");
pub const CAPTURE_03: &str =
    include_str!("../fixtures/vllm-metrics/03-v0-0.7-aibrix-runtime-doc.txt");
pub const CAPTURE_06: &str = include_str!("../fixtures/vllm-metrics/06-v0-0.5.1-vllm6337-ttft.txt");
pub const CAPTURE_08: &str =
    include_str!("../fixtures/vllm-metrics/08-v0-0.2-aioprometheus-vllm-pr1890.txt");

/// Capture 02 as if one vLLM exposition served `n` models: every `vllm:`
/// sample line is repeated once per model with `model_name="model-{i}"`
/// (added where the line had none) and a value that varies with the model;
/// HELP/TYPE lines and non-vLLM families appear once.
///
/// Values are scaled and shifted the same way for all lines of a model, and
/// histograms get extra observations, so buckets stay cumulative and `+Inf`
/// still equals `_count`.
pub fn multi_model(n: usize) -> String {
    let lines: Vec<&str> = CAPTURE_02.lines().collect();
    let mut out = String::with_capacity(CAPTURE_02.len() * n.max(1));
    let mut i = 0;
    while i < lines.len() {
        // A block: comment lines, then the sample lines after them.
        let mut engine = Vec::new();
        while let Some(line) = lines.get(i).filter(|l| l.starts_with('#')) {
            out.push_str(line);
            out.push('\n');
            i += 1;
        }
        while let Some(line) = lines.get(i).filter(|l| !l.starts_with('#')) {
            if line.starts_with("vllm:") {
                engine.push(*line);
            } else {
                out.push_str(line);
                out.push('\n');
            }
            i += 1;
        }
        let buckets = engine.iter().filter(|l| l.contains("_bucket{")).count();
        for model in 0..n {
            let mut bucket = 0;
            for line in &engine {
                // Histogram observations: model `m` adds `m + 1` to each
                // bucket from the current one on, so buckets stay
                // cumulative and `_count` equals the `+Inf` bucket.
                let extra = if line.contains("_bucket{") {
                    bucket += 1;
                    bucket * (model + 1)
                } else if line.contains("_count{") {
                    buckets * (model + 1)
                } else {
                    0
                };
                push_for_model(&mut out, line, model, extra as f64);
            }
        }
    }
    out
}

/// Appends `line` rewritten for model number `model`, adding `extra` to its value.
fn push_for_model(out: &mut String, line: &str, model: usize, extra: f64) {
    let (series, rest) = match line.rfind('}') {
        Some(close) => line.split_at(close + 1),
        None => line.split_at(line.find(' ').unwrap_or(line.len())),
    };
    let name = series.split('{').next().unwrap_or(series);
    let model_label = format!("model_name=\"model-{model}\"");
    if let Some(start) = series.find("model_name=\"") {
        let value_start = start + "model_name=\"".len();
        let value_end = series[value_start..]
            .find('"')
            .map_or(series.len(), |e| value_start + e + 1);
        out.push_str(&series[..start]);
        out.push_str(&model_label);
        out.push_str(&series[value_end..]);
    } else if let Some(body) = series.strip_suffix('}') {
        out.push_str(body);
        if !body.ends_with('{') {
            out.push(',');
        }
        out.push_str(&model_label);
        out.push('}');
    } else {
        out.push_str(series);
        out.push('{');
        out.push_str(&model_label);
        out.push('}');
    }
    let mut tokens = rest.split_whitespace();
    let value = tokens.next().unwrap_or("0");
    out.push(' ');
    match value.parse::<f64>() {
        Ok(v) if v.is_finite() => out.push_str(&format!("{:?}", vary(name, v, model) + extra)),
        _ => out.push_str(value),
    }
    for token in tokens {
        out.push(' ');
        out.push_str(token);
    }
    out.push('\n');
}

/// Deterministic, model-dependent value that keeps the metric plausible.
fn vary(name: &str, v: f64, model: usize) -> f64 {
    let m = model as f64;
    if name.ends_with("_info") {
        v
    } else if name.ends_with("_created") {
        v + m * 0.25
    } else if name.ends_with("_perc") {
        (v + m * 0.013).fract()
    } else {
        v * (1 + model % 7) as f64 + (model % 5) as f64 * 1.5
    }
}

/// Deterministic xorshift64* generator for fuzz-style tests.
pub struct XorShift(u64);

impl XorShift {
    pub fn new(seed: u64) -> Self {
        XorShift(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform-ish in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}
