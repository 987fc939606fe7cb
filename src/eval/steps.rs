//! Per-step plumbing shared by operators: inputs regrouped by step, and an
//! output builder that merges results into series by label set.

use super::error::{execution, EvalError, DUPLICATE_LABELSET};
use super::value::{Lbl, StepSeries};
use std::collections::HashMap;

/// The samples of a set of series regrouped by step: `(series index, value)`
/// in series order, so operators see them as Prometheus's per-step vectors.
pub(crate) struct ByStep {
    offsets: Vec<u32>,
    entries: Vec<(u32, f64)>,
}

impl ByStep {
    pub(crate) fn new(series: &[StepSeries], steps: usize) -> ByStep {
        let mut counts = vec![0u32; steps + 1];
        for s in series {
            for &(step, _) in &s.points {
                if let Some(c) = counts.get_mut(step as usize + 1) {
                    *c += 1;
                }
            }
        }
        for i in 1..counts.len() {
            counts[i] += counts[i - 1];
        }
        let total = counts.last().copied().unwrap_or(0) as usize;
        let mut fill = counts.clone();
        let mut entries = vec![(0u32, 0.0f64); total];
        for (si, s) in series.iter().enumerate() {
            for &(step, v) in &s.points {
                if let Some(pos) = fill.get_mut(step as usize) {
                    if let Some(e) = entries.get_mut(*pos as usize) {
                        *e = (si as u32, v);
                    }
                    *pos += 1;
                }
            }
        }
        ByStep {
            offsets: counts,
            entries,
        }
    }

    #[inline]
    pub(crate) fn at(&self, step: usize) -> &[(u32, f64)] {
        let lo = self.offsets.get(step).copied().unwrap_or(0) as usize;
        let hi = self.offsets.get(step + 1).copied().unwrap_or(0) as usize;
        self.entries.get(lo..hi).unwrap_or(&[])
    }
}

/// Collects per-step results into series keyed by label set; two results
/// with the same labels at one step are Prometheus's duplicate-labelset error.
#[derive(Default)]
pub(crate) struct Out {
    labels: Vec<Lbl>,
    index: HashMap<Lbl, u32>,
    points: Vec<Vec<(u32, f64)>>,
    last_step: Vec<u32>,
}

impl Out {
    /// The output series for `labels`, created on first use.
    pub(crate) fn id(&mut self, labels: Lbl) -> u32 {
        if let Some(&id) = self.index.get(&labels) {
            return id;
        }
        let id = self.labels.len() as u32;
        self.index.insert(labels.clone(), id);
        self.labels.push(labels);
        self.points.push(Vec::new());
        self.last_step.push(u32::MAX);
        id
    }

    #[inline]
    pub(crate) fn push(&mut self, id: u32, step: usize, v: f64) -> Result<(), EvalError> {
        let i = id as usize;
        let (Some(last), Some(points)) = (self.last_step.get_mut(i), self.points.get_mut(i)) else {
            return Err(execution("internal error: unknown output series"));
        };
        if *last == step as u32 {
            return Err(execution(DUPLICATE_LABELSET));
        }
        *last = step as u32;
        points.push((step as u32, v));
        Ok(())
    }

    /// Series with at least one point, in order of first creation.
    pub(crate) fn finish(self) -> Vec<StepSeries> {
        self.labels
            .into_iter()
            .zip(self.points)
            .filter(|(_, p)| !p.is_empty())
            .map(|(labels, points)| StepSeries { labels, points })
            .collect()
    }
}

/// Prometheus's check on a whole result: no two series share a label set.
pub(crate) fn check_unique(series: &[StepSeries]) -> Result<(), EvalError> {
    let mut seen = std::collections::HashSet::with_capacity(series.len());
    for s in series {
        if !seen.insert(&s.labels) {
            return Err(execution(DUPLICATE_LABELSET));
        }
    }
    Ok(())
}
