//! Renamed metrics, derived from the catalog's `successor` links.

use crate::catalog::{self, MetricDef, Version};

/// The first release (either engine) that exposes a metric.
fn first_release(m: &MetricDef) -> Option<Version> {
    [m.v0, m.v1].iter().flatten().map(|s| s.added).min()
}

fn label_names(m: &MetricDef) -> Vec<&'static str> {
    m.extra_labels.iter().map(|l| l.name).collect()
}

/// Is `new` a drop-in replacement of `old` that queries must bridge? It
/// must have the same type, unit and labels (so one query fits both), and
/// appear later than `old` (so some releases expose only the old name).
/// A `successor` that only replaces the meaning, such as a V0 hit-rate gauge
/// replaced by counters, does not qualify.
fn bridges(old: &MetricDef, new: &MetricDef) -> bool {
    old.kind == new.kind
        && old.unit == new.unit
        && old.scope == new.scope
        && label_names(old) == label_names(new)
        && first_release(new) > first_release(old)
}

/// `(new, old)` when `name` is either side of a rename.
pub(super) fn pair(name: &str) -> Option<(&'static str, &'static str)> {
    let m = catalog::lookup(name)?;
    if let Some(next) = m.successor.and_then(catalog::lookup) {
        if bridges(m, next) {
            return Some((next.name, m.name));
        }
    }
    catalog::METRICS
        .iter()
        .find(|old| old.successor == Some(m.name) && bridges(old, m))
        .map(|old| (m.name, old.name))
}

/// The other name of a renamed metric: the successor of an old name, or the
/// predecessor of a new one. `None` when the metric was never renamed, or
/// when its catalog successor is not a drop-in replacement.
///
/// ```
/// use vllm_grafana::catalog::names;
/// use vllm_grafana::promql::counterpart;
/// assert_eq!(counterpart(names::GPU_CACHE_USAGE_PERC), Some(names::KV_CACHE_USAGE_PERC));
/// assert_eq!(counterpart(names::INTER_TOKEN_LATENCY), Some(names::TIME_PER_OUTPUT_TOKEN));
/// // The per-request mean is a different quantity: never a fallback.
/// assert_eq!(counterpart(names::REQUEST_TIME_PER_OUTPUT_TOKEN), None);
/// ```
pub fn counterpart(name: &str) -> Option<&'static str> {
    let m = catalog::lookup(name)?;
    pair(name).map(|(new, old)| if new == m.name { old } else { new })
}

/// Is `name` the newer name of a rename pair?
pub fn is_successor(name: &str) -> bool {
    pair(name).is_some_and(|(new, _)| new == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::names;

    #[test]
    fn the_documented_renames_are_pairs() {
        for (new, old) in [
            (names::KV_CACHE_USAGE_PERC, names::GPU_CACHE_USAGE_PERC),
            (names::PREFIX_CACHE_QUERIES, names::GPU_PREFIX_CACHE_QUERIES),
            (names::PREFIX_CACHE_HITS, names::GPU_PREFIX_CACHE_HITS),
            (names::INTER_TOKEN_LATENCY, names::TIME_PER_OUTPUT_TOKEN),
        ] {
            assert_eq!(counterpart(new), Some(old), "{new}");
            assert_eq!(counterpart(old), Some(new), "{old}");
            assert!(is_successor(new) && !is_successor(old));
        }
    }

    #[test]
    fn replacements_of_another_type_or_shape_are_not_pairs() {
        // Gauge replaced by counters.
        assert_eq!(counterpart(names::GPU_PREFIX_CACHE_HIT_RATE), None);
        assert_eq!(counterpart(names::AVG_GENERATION_THROUGHPUT), None);
        // Both names exist from the same release: nothing to bridge.
        assert_eq!(counterpart(names::TIME_IN_QUEUE_REQUESTS), None);
        // Different labels (transfer_type).
        assert_eq!(counterpart(names::KV_OFFLOAD_TOTAL_BYTES), None);
        assert_eq!(counterpart(names::NUM_REQUESTS_RUNNING), None);
        assert_eq!(counterpart("no_such_metric"), None);
    }
}
