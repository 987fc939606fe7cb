//! The five metric types of text format 0.0.4.

use std::fmt;

/// Type declared by a `# TYPE` line; families without one are `Untyped`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    Summary,
    #[default]
    Untyped,
}

impl MetricType {
    /// The keyword as written on a `# TYPE` line.
    pub fn as_str(&self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::Summary => "summary",
            MetricType::Untyped => "untyped",
        }
    }

    /// Parses a `# TYPE` keyword. Case-sensitive like prometheus_client;
    /// the OpenMetrics-only types (`info`, `stateset`, ...) are not 0.0.4 types.
    pub fn from_keyword(keyword: &str) -> Option<Self> {
        match keyword {
            "counter" => Some(MetricType::Counter),
            "gauge" => Some(MetricType::Gauge),
            "histogram" => Some(MetricType::Histogram),
            "summary" => Some(MetricType::Summary),
            "untyped" => Some(MetricType::Untyped),
            _ => None,
        }
    }

    /// Whether a sample called `sample_name` belongs to a family `family_name`
    /// of this type. Same rule as prometheus_client's text parser: a histogram
    /// takes only `_bucket`/`_sum`/`_count`, a summary its own name plus
    /// `_sum`/`_count`, anything else only its exact name (so a `X_created`
    /// or `X_total` sample never joins family `X`).
    pub fn accepts(self, family_name: &str, sample_name: &str) -> bool {
        let Some(suffix) = sample_name.strip_prefix(family_name) else {
            return false;
        };
        match self {
            MetricType::Histogram => matches!(suffix, "_bucket" | "_sum" | "_count"),
            MetricType::Summary => matches!(suffix, "" | "_sum" | "_count"),
            MetricType::Counter | MetricType::Gauge | MetricType::Untyped => suffix.is_empty(),
        }
    }
}

impl fmt::Display for MetricType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::MetricType::{self, *};

    #[test]
    fn keywords_round_trip() {
        for t in [Counter, Gauge, Histogram, Summary, Untyped] {
            assert_eq!(MetricType::from_keyword(t.as_str()), Some(t));
            assert_eq!(t.to_string(), t.as_str());
        }
        for bad in ["Counter", "GAUGE", "info", "unknown", "", "gauge "] {
            assert_eq!(MetricType::from_keyword(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn family_membership() {
        let h = "vllm:e2e_request_latency_seconds";
        assert!(Histogram.accepts(h, "vllm:e2e_request_latency_seconds_bucket"));
        assert!(Histogram.accepts(h, "vllm:e2e_request_latency_seconds_count"));
        assert!(!Histogram.accepts(h, h));
        assert!(!Histogram.accepts(h, "vllm:e2e_request_latency_seconds_created"));
        assert!(Summary.accepts("s", "s") && Summary.accepts("s", "s_sum"));
        assert!(!Summary.accepts("s", "s_bucket"));
        assert!(Counter.accepts("c_total", "c_total"));
        assert!(!Counter.accepts("c", "c_total"));
        assert!(!Gauge.accepts("g", "g2") && !Untyped.accepts("u", "v"));
    }
}
