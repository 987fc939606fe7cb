//! A Prometheus histogram with fixed bounds, as prometheus_client keeps it.

/// Per-bucket counts (not cumulative), plus the implicit `+Inf` bucket.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Histogram {
    bounds: Vec<f64>,
    counts: Vec<u64>,
    sum: f64,
}

impl Histogram {
    /// `bounds` are the finite upper bounds, ascending.
    pub fn new(bounds: Vec<f64>) -> Self {
        let counts = vec![0; bounds.len() + 1];
        Histogram {
            bounds,
            counts,
            sum: 0.0,
        }
    }

    pub fn observe(&mut self, value: f64) {
        self.observe_n(value, 1);
    }

    /// Records `n` observations of the same value with one bucket search.
    pub fn observe_n(&mut self, value: f64, n: u64) {
        if n == 0 || value.is_nan() {
            return;
        }
        // `le` is inclusive: the first bound >= value takes it.
        let i = self.bounds.partition_point(|b| *b < value);
        self.counts[i] += n;
        self.sum += value * n as f64;
    }

    /// Adds another histogram with the same bounds (used to total engines).
    pub fn merge(&mut self, other: &Histogram) {
        if self.bounds != other.bounds {
            return;
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.sum += other.sum;
    }

    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// `(upper bound, cumulative count)` per bucket, ending with `+Inf`.
    pub fn cumulative(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        let bounds = self.bounds.iter().copied().chain([f64::INFINITY]);
        bounds.zip(self.counts.iter().scan(0u64, |acc, c| {
            *acc += c;
            Some(*acc)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_inclusive_and_cumulative() {
        let mut h = Histogram::new(vec![1.0, 2.0, 5.0]);
        h.observe(1.0);
        h.observe(1.5);
        h.observe_n(5.0, 2);
        h.observe(7.0);
        let cum: Vec<_> = h.cumulative().collect();
        assert_eq!(cum, vec![(1.0, 1), (2.0, 2), (5.0, 4), (f64::INFINITY, 5)]);
        assert_eq!(h.count(), 5);
        assert_eq!(h.sum(), 1.0 + 1.5 + 10.0 + 7.0);
    }

    #[test]
    fn merge_adds_counts() {
        let mut a = Histogram::new(vec![1.0]);
        let mut b = Histogram::new(vec![1.0]);
        a.observe(0.5);
        b.observe(3.0);
        a.merge(&b);
        assert_eq!(
            a.cumulative().collect::<Vec<_>>(),
            vec![(1.0, 1), (f64::INFINITY, 2)]
        );
    }
}
