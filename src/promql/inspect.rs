//! Reading generated PromQL back: Grafana variable interpolation for parsing,
//! and walks over the `promql-parser` syntax tree (which metrics a query
//! reads, whether a release exposes enough of them to answer).

use promql_parser::parser::{self, Expr};
use std::collections::BTreeSet;
use std::time::Duration;

/// Replaces Grafana variables (`$name`, `${name}`, `${name:format}`) with
/// `value(name)`; variables it returns `None` for, and back-references such
/// as `$1`, are left as they are.
pub fn interpolate(expr: &str, value: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut rest = expr;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let (name, consumed) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => {
                    let inner = &braced[..end];
                    (inner.split(':').next().unwrap_or(inner), end + 2)
                }
                None => ("", 0),
            }
        } else {
            let len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..len], len)
        };
        // `$1` is a regex back-reference (label_replace), never a variable:
        // Grafana has none by that name and leaves it.
        let reference = name.starts_with(|c: char| c.is_ascii_digit());
        match (name.is_empty() || reference, value(name)) {
            (false, Some(v)) => out.push_str(&v),
            _ => out.push_str(&rest[pos..pos + 1 + consumed]),
        }
        rest = &after[consumed..];
    }
    out.push_str(rest);
    out
}

/// A value that makes any variable of the generated dashboards parse:
/// intervals become `1m`, `$__range` `1h`, number variables `1`, everything
/// else `.*` (the other variables only appear inside label matchers).
pub fn sample_value(name: &str) -> Option<String> {
    if super::number_vars::ALL.contains(&name) {
        return Some("1".to_string());
    }
    Some(
        match name {
            "__rate_interval" | "__interval" => "1m",
            "__range" => "1h",
            "__range_s" => "3600",
            _ => ".*",
        }
        .to_string(),
    )
}

/// Parses a dashboard query after replacing its variables with
/// [`sample_value`]s.
pub fn parse(expr: &str) -> Result<Expr, String> {
    parser::parse(&interpolate(expr, sample_value))
}

/// Visits every node, parents before children, with the chain of ancestors
/// (outermost first).
pub fn walk<'a>(expr: &'a Expr, f: &mut dyn FnMut(&'a Expr, &[&'a Expr])) {
    fn go<'a>(e: &'a Expr, stack: &mut Vec<&'a Expr>, f: &mut dyn FnMut(&'a Expr, &[&'a Expr])) {
        f(e, stack);
        stack.push(e);
        for child in children(e) {
            go(child, stack, f);
        }
        stack.pop();
    }
    go(expr, &mut Vec::new(), f);
}

/// The direct sub-expressions of a node.
pub fn children(e: &Expr) -> Vec<&Expr> {
    match e {
        Expr::Aggregate(a) => a.param.iter().map(|p| &**p).chain([&*a.expr]).collect(),
        Expr::Unary(u) => vec![&*u.expr],
        Expr::Binary(b) => vec![&*b.lhs, &*b.rhs],
        Expr::Paren(p) => vec![&*p.expr],
        Expr::Subquery(s) => vec![&*s.expr],
        Expr::Call(c) => c.args.args.iter().map(|a| &**a).collect(),
        Expr::NumberLiteral(_)
        | Expr::StringLiteral(_)
        | Expr::VectorSelector(_)
        | Expr::MatrixSelector(_)
        | Expr::Extension(_) => Vec::new(),
    }
}

/// One series selector in a query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectorUse {
    pub name: String,
    /// `(label, operator, value)` as written.
    pub matchers: Vec<(String, String, String)>,
    /// The range of a range selector (`x[5m]`).
    pub range: Option<Duration>,
    /// The function the selector is a direct argument of.
    pub function: Option<&'static str>,
}

impl SelectorUse {
    pub fn matcher(&self, label: &str) -> Option<(&str, &str)> {
        self.matchers
            .iter()
            .find(|(l, _, _)| l == label)
            .map(|(_, op, v)| (op.as_str(), v.as_str()))
    }
}

/// Every series selector of a query, in order.
pub fn selectors(expr: &Expr) -> Vec<SelectorUse> {
    let mut out = Vec::new();
    walk(expr, &mut |e, ancestors| {
        let (vs, range) = match e {
            Expr::VectorSelector(vs) => (vs, None),
            Expr::MatrixSelector(ms) => (&ms.vs, Some(ms.range)),
            _ => return,
        };
        let function = match ancestors.last() {
            Some(Expr::Call(c)) => Some(c.func.name),
            _ => None,
        };
        out.push(SelectorUse {
            name: vs.name.clone().unwrap_or_default(),
            matchers: vs
                .matchers
                .matchers
                .iter()
                .map(|m| (m.name.clone(), m.op.to_string(), m.value.clone()))
                .collect(),
            range,
            function,
        });
    });
    out
}

/// The metric names a query reads.
pub fn metric_names(expr: &Expr) -> BTreeSet<String> {
    selectors(expr).into_iter().map(|s| s.name).collect()
}

/// Can the query return data when only the metrics `exposed` accepts exist?
/// Both sides of an arithmetic or `and` operation must be answerable, one
/// side of an `or` is enough, and `unless` needs only its left side.
pub fn answerable(expr: &Expr, exposed: &dyn Fn(&str) -> bool) -> bool {
    match expr {
        Expr::VectorSelector(vs) => vs.name.as_deref().is_none_or(exposed),
        Expr::MatrixSelector(ms) => ms.vs.name.as_deref().is_none_or(exposed),
        Expr::Binary(b) => match b.op.to_string().as_str() {
            "or" => answerable(&b.lhs, exposed) || answerable(&b.rhs, exposed),
            "unless" => answerable(&b.lhs, exposed),
            _ => answerable(&b.lhs, exposed) && answerable(&b.rhs, exposed),
        },
        other => children(other).into_iter().all(|c| answerable(c, exposed)),
    }
}

/// For every `or` in the query, the metric names on its left and right.
pub fn or_branches(expr: &Expr) -> Vec<(BTreeSet<String>, BTreeSet<String>)> {
    let mut out = Vec::new();
    walk(expr, &mut |e, _| {
        if let Expr::Binary(b) = e {
            if b.op.to_string() == "or" {
                out.push((metric_names(&b.lhs), metric_names(&b.rhs)));
            }
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolates_all_spellings_and_keeps_unknown_variables() {
        let got = interpolate(
            "rate(x{a=~\"$job\", b=\"${instance}\", c=\"${model:regex}\"}[$__rate_interval]) $ $9",
            |n| (n != "9").then(|| format!("<{n}>")),
        );
        assert_eq!(
            got,
            "rate(x{a=~\"<job>\", b=\"<instance>\", c=\"<model>\"}[<__rate_interval>]) $ $9"
        );
    }

    #[test]
    fn finds_selectors_with_their_function_and_range() {
        let e = parse("sum(rate(a_total{job=~\"$job\"}[$__rate_interval])) / sum(b)").unwrap();
        let s = selectors(&e);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].name, "a_total");
        assert_eq!(s[0].function, Some("rate"));
        assert_eq!(s[0].range, Some(Duration::from_secs(60)));
        assert_eq!(s[0].matcher("job"), Some(("=~", ".*")));
        assert_eq!(s[1].function, None);
    }

    #[test]
    fn or_needs_one_side_and_arithmetic_both() {
        let e = parse("(a / b) or (c / d) unless e").unwrap();
        let only = |names: &'static [&'static str]| move |n: &str| names.contains(&n);
        assert!(answerable(&e, &only(&["a", "b"])));
        assert!(answerable(&e, &only(&["c", "d"])));
        assert!(!answerable(&e, &only(&["a", "d", "e"])));
        assert!(answerable(&parse("vector(0)").unwrap(), &only(&[])));
        let branches = or_branches(&e);
        assert_eq!(branches.len(), 1);
        assert!(branches[0].0.contains("a") && branches[0].1.contains("d"));
    }
}
