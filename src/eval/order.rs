//! The order Prometheus puts an instant answer in where it sorts by value
//! (`sort`, `sort_desc`, and each `topk`/`bottomk` group).
//!
//! Go's `sort.Sort` is an insertion sort up to 12 elements, so for those
//! the order of equal values (and of NaNs, for which Prometheus's
//! comparison is inconsistent) is that insertion sort's; longer inputs are
//! sorted stably, equal values in input order.

/// Ascending (`sort`, `bottomk`) or descending (`sort_desc`, `topk`), NaN last.
pub(crate) fn by_value<T>(items: &mut [T], value: impl Fn(&T) -> f64, descending: bool) {
    // Prometheus's "i before j": j is NaN, or i is strictly on the right side of j.
    let before = |a: f64, b: f64| b.is_nan() || if descending { a > b } else { a < b };
    if items.len() <= 12 {
        for i in 1..items.len() {
            let mut j = i;
            while j > 0 && before(value(&items[j]), value(&items[j - 1])) {
                items.swap(j, j - 1);
                j -= 1;
            }
        }
        return;
    }
    items.sort_by(|a, b| {
        let (a, b) = (value(a), value(b));
        match (a.is_nan(), b.is_nan()) {
            (true, true) => std::cmp::Ordering::Equal,
            (true, false) => std::cmp::Ordering::Greater,
            (false, true) => std::cmp::Ordering::Less,
            (false, false) if descending => b.total_cmp(&a),
            (false, false) => a.total_cmp(&b),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_last_equal_values_as_go_leaves_them() {
        let mut v = vec![(1, 2.0), (2, f64::NAN), (3, 1.0), (4, f64::NAN), (5, 1.0)];
        by_value(&mut v, |x| x.1, false);
        let order: Vec<i32> = v.iter().map(|x| x.0).collect();
        // Go's insertion sort keeps 3 before 5 and moves the later NaN first.
        assert_eq!(order, [3, 5, 1, 4, 2]);
        by_value(&mut v, |x| x.1, true);
        assert_eq!(v[0].1, 2.0);
        assert!(v[3].1.is_nan() && v[4].1.is_nan());
    }
}
