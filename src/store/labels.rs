//! Label sets: `(name, value)` pairs sorted by name, `__name__` included.
//!
//! Names and values are `Arc<str>`: a set read back from the store shares
//! its strings with the store's interner (see `intern`), so copying a set
//! (or editing one, as the evaluator does) copies pointers, not text.

use std::fmt;
use std::sync::Arc;

/// The label holding the metric name.
pub const METRIC_NAME: &str = "__name__";

/// A series' labels, sorted by name (bytewise, like Prometheus), without
/// empty values. Ordering compares pair by pair, then length, which is the
/// order Prometheus sorts series in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Labels(Vec<(Arc<str>, Arc<str>)>);

impl Labels {
    /// Builds a label set; empty values are dropped and the first of
    /// duplicate names wins.
    pub fn new<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Labels {
        let mut v: Vec<(Arc<str>, Arc<str>)> = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .filter(|(_, v): &(String, String)| !v.is_empty())
            .map(|(k, v)| (Arc::from(k), Arc::from(v)))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v.dedup_by(|b, a| a.0 == b.0);
        Labels(v)
    }

    /// A set from shared strings already sorted by name, unique and
    /// non-empty (the store's own series).
    pub(crate) fn from_sorted_shared(pairs: Vec<(Arc<str>, Arc<str>)>) -> Labels {
        debug_assert!(pairs.windows(2).all(|w| w[0].0 < w[1].0));
        Labels(pairs)
    }

    pub fn empty() -> Labels {
        Labels(Vec::new())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(n, _)| (**n).cmp(name))
            .ok()
            .and_then(|i| self.0.get(i))
            .map(|(_, v)| &**v)
    }

    /// The value of `name`, or `""` when absent (PromQL matches a missing
    /// label as the empty string).
    pub fn value(&self, name: &str) -> &str {
        self.get(name).unwrap_or("")
    }

    /// The metric name.
    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (&**k, &**v))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The pairs, sorted by name.
    pub fn as_slice(&self) -> &[(Arc<str>, Arc<str>)] {
        &self.0
    }

    /// The pairs as owned strings, sorted by name.
    pub fn into_vec(self) -> Vec<(String, String)> {
        self.0
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// A copy without the labels in `names`.
    pub fn without(&self, names: &[&str]) -> Labels {
        Labels(
            self.0
                .iter()
                .filter(|(k, _)| !names.contains(&&**k))
                .cloned()
                .collect(),
        )
    }

    /// A copy with only the labels in `names`.
    pub fn keep(&self, names: &[&str]) -> Labels {
        Labels(
            self.0
                .iter()
                .filter(|(k, _)| names.contains(&&**k))
                .cloned()
                .collect(),
        )
    }

    /// A copy with `name` set to `value` (removed when `value` is empty).
    pub fn with(&self, name: &str, value: &str) -> Labels {
        let mut v = self.0.clone();
        match v.binary_search_by(|(n, _)| (**n).cmp(name)) {
            Ok(i) if value.is_empty() => {
                v.remove(i);
            }
            Ok(i) => {
                if let Some(slot) = v.get_mut(i) {
                    slot.1 = Arc::from(value);
                }
            }
            Err(_) if value.is_empty() => {}
            Err(i) => v.insert(i, (Arc::from(name), Arc::from(value))),
        }
        Labels(v)
    }
}

impl fmt::Display for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{k}={v:?}")?;
        }
        f.write_str("}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_deduplicated_and_editable() {
        let l = Labels::new([("b", "2"), ("a", "1"), ("b", "3"), ("c", "")]);
        assert_eq!(
            l.clone().into_vec(),
            vec![("a".into(), "1".into()), ("b".into(), "2".into())]
        );
        assert_eq!(l.value("c"), "");
        assert_eq!(l.with("c", "x").get("c"), Some("x"));
        assert_eq!(l.with("a", "").len(), 1);
        assert_eq!(l.without(&["a"]).keep(&["b"]).len(), 1);
        assert!(Labels::new([("a", "1")]) < Labels::new([("a", "1"), ("b", "1")]));
    }
}
