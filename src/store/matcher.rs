//! Label matchers with PromQL semantics: a missing label matches as `""`,
//! regular expressions are fully anchored.

use super::labels::Labels;
use regex::Regex;

#[derive(Clone, Debug)]
pub enum MatchOp {
    Equal,
    NotEqual,
    Regex(Regex),
    NotRegex(Regex),
}

/// One `name op "value"` term of a selector.
#[derive(Clone, Debug)]
pub struct Matcher {
    pub name: String,
    pub value: String,
    pub op: MatchOp,
    /// The regex accepts every string (`.*`): the term is a no-op.
    matches_all: bool,
}

impl Matcher {
    pub fn equal(name: &str, value: &str) -> Matcher {
        Matcher::plain(name, value, MatchOp::Equal)
    }

    pub fn not_equal(name: &str, value: &str) -> Matcher {
        Matcher::plain(name, value, MatchOp::NotEqual)
    }

    /// `name =~ "re"`, anchored at both ends as in Prometheus.
    pub fn regex(name: &str, re: &str) -> Result<Matcher, regex::Error> {
        let compiled = anchored(re)?;
        let mut m = Matcher::plain(name, re, MatchOp::Regex(compiled));
        m.matches_all = re == ".*";
        Ok(m)
    }

    /// `name !~ "re"`.
    pub fn not_regex(name: &str, re: &str) -> Result<Matcher, regex::Error> {
        Ok(Matcher::plain(name, re, MatchOp::NotRegex(anchored(re)?)))
    }

    fn plain(name: &str, value: &str, op: MatchOp) -> Matcher {
        Matcher {
            name: name.to_string(),
            value: value.to_string(),
            op,
            matches_all: false,
        }
    }

    /// Does a label value (`""` when the label is missing) satisfy the term?
    #[inline]
    pub fn matches(&self, value: &str) -> bool {
        match &self.op {
            MatchOp::Equal => self.value == value,
            MatchOp::NotEqual => self.value != value,
            MatchOp::Regex(re) => self.matches_all || re.is_match(value),
            MatchOp::NotRegex(re) => !re.is_match(value),
        }
    }

    pub fn matches_labels(&self, labels: &Labels) -> bool {
        self.matches(labels.value(&self.name))
    }

    /// True when the term accepts every value.
    pub(crate) fn is_noop(&self) -> bool {
        self.matches_all
    }
}

/// Compiles `re` the way Prometheus does: `^(?:re)$`.
///
/// Dashboards send the same few patterns with every query (a variable on
/// All is `.*`), so compiled regexes are kept in a small shared cache; a
/// compiled `Regex` is cheap to clone and safe to share between threads.
pub fn anchored(re: &str) -> Result<Regex, regex::Error> {
    /// Patterns kept; past this the cache starts over, so a client sending
    /// endless distinct patterns cannot grow it.
    const KEPT: usize = 256;
    static CACHE: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<String, Regex>>> =
        std::sync::LazyLock::new(Default::default);
    let cached = |re: &str| CACHE.lock().ok().and_then(|cache| cache.get(re).cloned());
    if let Some(compiled) = cached(re) {
        return Ok(compiled);
    }
    let compiled = Regex::new(&format!("^(?:{re})$"))?;
    if let Ok(mut cache) = CACHE.lock() {
        if cache.len() >= KEPT {
            cache.clear();
        }
        cache.insert(re.to_string(), compiled.clone());
    }
    Ok(compiled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_regexes_answer_like_fresh_ones() {
        for _ in 0..2 {
            let m = Matcher::regex("a", "gpu-(a|b)").expect("valid");
            assert!(m.matches("gpu-a") && !m.matches("gpu-c") && !m.matches("xgpu-a"));
        }
        // Far more patterns than the cache keeps: each still compiles to itself.
        for i in 0..600 {
            let m = Matcher::regex("a", &format!("v{i}")).expect("valid");
            assert!(m.matches(&format!("v{i}")) && !m.matches(&format!("v{i}0")));
        }
        assert!(anchored("(").is_err());
    }

    #[test]
    fn regexes_are_fully_anchored() {
        let m = Matcher::regex("a", "x|y").expect("valid");
        assert!(m.matches("x") && m.matches("y"));
        assert!(!m.matches("xy") && !m.matches("ax"));
        let missing = Labels::new([("b", "1")]);
        assert!(Matcher::equal("a", "").matches_labels(&missing));
        assert!(!Matcher::not_equal("a", "").matches_labels(&missing));
        assert!(Matcher::regex("a", ".*")
            .expect("valid")
            .matches_labels(&missing));
        assert!(!Matcher::regex("a", ".+")
            .expect("valid")
            .matches_labels(&missing));
        assert!(Matcher::not_regex("a", "x")
            .expect("valid")
            .matches_labels(&missing));
    }
}
