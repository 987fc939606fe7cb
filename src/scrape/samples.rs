//! `*_created` families: prometheus_client prints, beside each counter,
//! histogram and summary, a gauge holding its creation time. They are
//! bookkeeping rather than data, so a scrape drops them before the store.

use crate::catalog::{self, MetricDef};
use crate::exposition::{Entry, MetricType, Parser, RawLabels};
use std::collections::HashSet;
use std::sync::LazyLock;

/// Every `_created` name the catalog's counters, histograms and summaries have.
static CATALOG_CREATED: LazyLock<HashSet<String>> = LazyLock::new(|| {
    catalog::METRICS
        .iter()
        .filter(|m| m.has_created_series())
        .map(MetricDef::created_name)
        .collect()
});

/// Is `name` the `_created` family of a catalog counter or histogram?
pub fn is_created_series(name: &str) -> bool {
    name.ends_with("_created") && CATALOG_CREATED.contains(name)
}

/// The `_created` name a `# TYPE name kind` line implies, if any.
fn created_for(name: &str, kind: MetricType) -> Option<String> {
    match kind {
        MetricType::Counter => Some(format!(
            "{}_created",
            name.strip_suffix("_total").unwrap_or(name)
        )),
        MetricType::Histogram | MetricType::Summary => Some(format!("{name}_created")),
        _ => None,
    }
}

/// The samples of an exposition, ready for [`super::Store::ingest`]:
/// bad lines are skipped (and counted), `_created` families dropped, both
/// the catalog's and any implied by the exposition's own `# TYPE` lines.
pub struct ScrapeSamples<'a> {
    parser: Parser<'a>,
    declared_created: HashSet<String>,
    /// Lines the parser rejected.
    pub bad_lines: usize,
    /// Samples dropped as `_created` bookkeeping.
    pub created_dropped: usize,
}

impl<'a> ScrapeSamples<'a> {
    pub fn new(text: &'a str) -> Self {
        ScrapeSamples {
            parser: Parser::new(text),
            declared_created: HashSet::new(),
            bad_lines: 0,
            created_dropped: 0,
        }
    }
}

impl<'a> Iterator for ScrapeSamples<'a> {
    type Item = (&'a str, RawLabels<'a>, f64);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.parser.next()? {
                Ok(Entry::Sample(s)) => {
                    if is_created_series(s.name) || self.declared_created.contains(s.name) {
                        self.created_dropped += 1;
                        continue;
                    }
                    return Some((s.name, s.labels, s.value));
                }
                Ok(Entry::Type { name, metric_type }) => {
                    if let Some(c) = created_for(name, metric_type) {
                        self.declared_created.insert(c);
                    }
                }
                Ok(_) => {}
                Err(_) => self.bad_lines += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::names;

    #[test]
    fn catalog_and_declared_created_families_are_dropped() {
        let prompt_created = format!(
            "{}_created",
            names::PROMPT_TOKENS.trim_end_matches("_total")
        );
        assert!(is_created_series(&prompt_created));
        assert!(!is_created_series(names::PROMPT_TOKENS));
        let text = format!(
            "# TYPE {p} counter\n{p} 5\n# TYPE {c} gauge\n{c} 1.7e9\n# TYPE own_total counter\nown_total 1\nown_created 2\nbad line\n",
            p = names::PROMPT_TOKENS,
            c = prompt_created
        );
        let mut it = ScrapeSamples::new(&text);
        let kept: Vec<&str> = it.by_ref().map(|s| s.0).collect();
        assert_eq!(kept, [names::PROMPT_TOKENS, "own_total"]);
        assert_eq!((it.created_dropped, it.bad_lines), (2, 1));
    }
}
