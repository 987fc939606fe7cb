//! `histogram_quantile` over classic `le` buckets, with Prometheus's
//! interpolation and edge cases.

use super::error::EvalError;
use super::steps::{ByStep, Out};
use super::value::{Node, StepSeries};
use crate::store::{Labels, METRIC_NAME};
use std::collections::HashMap;
use std::sync::Arc;

const LE: &str = "le";

pub(crate) fn quantile(q: &[f64], input: &[StepSeries], steps: usize) -> Result<Node, EvalError> {
    // Buckets group by every label but `le` (the name included); the result
    // drops both, so two histograms differing only by name collide.
    let mut groups: HashMap<Labels, usize> = HashMap::new();
    let mut group_out: Vec<u32> = Vec::new();
    let mut out = Out::default();
    let series_group: Vec<Option<(usize, f64)>> = input
        .iter()
        .map(|s| {
            let upper: f64 = s.labels.get(LE)?.parse().ok()?;
            let key = s.labels.without(&[LE]);
            let next = groups.len();
            let g = *groups.entry(key).or_insert(next);
            if g == group_out.len() {
                group_out.push(out.id(Arc::new(s.labels.without(&[LE, METRIC_NAME]))));
            }
            Some((g, upper))
        })
        .collect();
    let by = ByStep::new(input, steps);
    let mut buckets: Vec<Vec<(f64, f64)>> = vec![Vec::new(); group_out.len()];
    let mut touched: Vec<usize> = Vec::new();
    for step in 0..steps {
        for &(si, v) in by.at(step) {
            if let Some(Some((g, upper))) = series_group.get(si as usize) {
                if let Some(b) = buckets.get_mut(*g) {
                    if b.is_empty() {
                        touched.push(*g);
                    }
                    b.push((*upper, v));
                }
            }
        }
        let qv = q.get(step).copied().unwrap_or(f64::NAN);
        for &g in &touched {
            if let (Some(b), Some(&id)) = (buckets.get_mut(g), group_out.get(g)) {
                out.push(id, step, bucket_quantile(qv, b))?;
                b.clear();
            }
        }
        touched.clear();
    }
    Ok(Node::Vector(out.finish()))
}

/// The `q` quantile of cumulative `(upper bound, count)` buckets.
pub(crate) fn bucket_quantile(q: f64, buckets: &mut Vec<(f64, f64)>) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    if buckets.last().is_none_or(|b| b.0 != f64::INFINITY) {
        return f64::NAN;
    }
    // Equal bounds (e.g. `le="1"` and `le="1.0"`) count as one bucket.
    buckets.dedup_by(|b, a| {
        if a.0 == b.0 {
            a.1 += b.1;
            true
        } else {
            false
        }
    });
    // Counts can dip where buckets were scraped at slightly different times.
    let mut max = buckets.first().map_or(f64::NAN, |b| b.1);
    for b in buckets.iter_mut().skip(1) {
        if b.1 > max {
            max = b.1;
        } else if b.1 < max {
            b.1 = max;
        }
    }
    let n = buckets.len();
    if n < 2 {
        return f64::NAN;
    }
    let observations = buckets[n - 1].1;
    if observations == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * observations;
    // First bucket (among all but +Inf) holding the rank; n - 1 if none.
    let b = buckets[..n - 1]
        .iter()
        .position(|x| x.1 >= rank)
        .unwrap_or(n - 1);
    if b == n - 1 {
        return buckets[n - 2].0;
    }
    if b == 0 && buckets[0].0 <= 0.0 {
        return buckets[0].0;
    }
    let bucket_end = buckets[b].0;
    let mut count = buckets[b].1;
    let mut bucket_start = 0.0;
    if b > 0 {
        bucket_start = buckets[b - 1].0;
        count -= buckets[b - 1].1;
        rank -= buckets[b - 1].1;
    }
    bucket_start + (bucket_end - bucket_start) * (rank / count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(q: f64, b: &[(f64, f64)]) -> f64 {
        bucket_quantile(q, &mut b.to_vec())
    }

    #[test]
    fn interpolates_and_handles_edges() {
        let b = [(f64::INFINITY, 10.0), (1.0, 5.0), (2.0, 10.0)];
        assert_eq!(q(0.5, &b), 1.0);
        assert_eq!(q(0.75, &b), 1.5);
        assert_eq!(q(1.0, &b), 2.0);
        assert_eq!(q(-0.1, &b), f64::NEG_INFINITY);
        assert_eq!(q(1.1, &b), f64::INFINITY);
        assert!(q(f64::NAN, &b).is_nan());
        assert!(
            q(0.5, &[(1.0, 5.0), (2.0, 10.0)]).is_nan(),
            "no +Inf bucket"
        );
        assert!(
            q(0.5, &[(f64::INFINITY, 10.0)]).is_nan(),
            "fewer than two buckets"
        );
        assert!(
            q(0.5, &[(1.0, 0.0), (f64::INFINITY, 0.0)]).is_nan(),
            "no observations"
        );
        // Non-monotonic counts are raised to the running maximum.
        assert_eq!(
            q(0.5, &[(1.0, 6.0), (2.0, 4.0), (f64::INFINITY, 12.0)]),
            1.0
        );
        // All observations above the highest finite bound.
        assert_eq!(q(0.5, &[(1.0, 0.0), (f64::INFINITY, 4.0)]), 1.0);
        assert_eq!(q(0.5, &[(-1.0, 3.0), (f64::INFINITY, 4.0)]), -1.0);
    }

    #[test]
    fn le_values_parse_like_go() {
        assert_eq!("+Inf".parse::<f64>().ok(), Some(f64::INFINITY));
        assert_eq!("1e-3".parse::<f64>().ok(), Some(0.001));
    }
}
