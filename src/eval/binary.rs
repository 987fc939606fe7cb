//! Binary operators: arithmetic, comparisons (with `bool`), set operators,
//! and vector matching with `on`/`ignoring` and `group_left`/`group_right`.

use super::drop_name;
use super::engine::Ctx;
use super::error::{execution, unsupported, EvalError};
use super::steps::{ByStep, Out};
use super::value::{Lbl, Node, StepSeries};
use crate::store::{Labels, METRIC_NAME};
use promql_parser::parser::token::{
    T_ADD, T_ATAN2, T_DIV, T_EQLC, T_GTE, T_GTR, T_LAND, T_LOR, T_LSS, T_LTE, T_LUNLESS, T_MOD,
    T_MUL, T_NEQ, T_POW, T_SUB,
};
use promql_parser::parser::{BinaryExpr, LabelModifier, VectorMatchCardinality};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Atan2,
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    And,
    Or,
    Unless,
}

impl Op {
    fn comparison(self) -> bool {
        matches!(self, Op::Eq | Op::Ne | Op::Gt | Op::Lt | Op::Ge | Op::Le)
    }

    /// Arithmetic changes what a value means, so the name goes (not for
    /// `atan2`, as in Prometheus).
    fn drops_name(self) -> bool {
        matches!(
            self,
            Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Mod | Op::Pow
        )
    }

    /// `(value, keep)`: comparisons keep the left value when true.
    fn apply(self, l: f64, r: f64) -> (f64, bool) {
        match self {
            Op::Add => (l + r, true),
            Op::Sub => (l - r, true),
            Op::Mul => (l * r, true),
            Op::Div => (l / r, true),
            Op::Mod => (l % r, true),
            Op::Pow => (l.powf(r), true),
            Op::Atan2 => (l.atan2(r), true),
            Op::Eq => (l, l == r),
            Op::Ne => (l, l != r),
            Op::Gt => (l, l > r),
            Op::Lt => (l, l < r),
            Op::Ge => (l, l >= r),
            Op::Le => (l, l <= r),
            Op::And | Op::Or | Op::Unless => (l, true),
        }
    }
}

fn op_of(b: &BinaryExpr) -> Result<Op, EvalError> {
    Ok(match b.op.id() {
        T_ADD => Op::Add,
        T_SUB => Op::Sub,
        T_MUL => Op::Mul,
        T_DIV => Op::Div,
        T_MOD => Op::Mod,
        T_POW => Op::Pow,
        T_ATAN2 => Op::Atan2,
        T_EQLC => Op::Eq,
        T_NEQ => Op::Ne,
        T_GTR => Op::Gt,
        T_LSS => Op::Lt,
        T_GTE => Op::Ge,
        T_LTE => Op::Le,
        T_LAND => Op::And,
        T_LOR => Op::Or,
        T_LUNLESS => Op::Unless,
        _ => return Err(unsupported(format!("the operator {}", b.op))),
    })
}

pub(crate) fn eval(ctx: &mut Ctx<'_>, b: &BinaryExpr, d: usize) -> Result<Node, EvalError> {
    let op = op_of(b)?;
    let return_bool = b.modifier.as_ref().is_some_and(|m| m.return_bool);
    let lhs = ctx.eval_arg(&b.lhs, d)?;
    let rhs = ctx.eval_arg(&b.rhs, d)?;
    match (lhs, rhs) {
        (Node::Scalar(l), Node::Scalar(r)) => Ok(Node::Scalar(
            l.iter()
                .zip(&r)
                .map(|(&l, &r)| {
                    let (v, keep) = op.apply(l, r);
                    if op.comparison() {
                        if keep {
                            1.0
                        } else {
                            0.0
                        }
                    } else {
                        v
                    }
                })
                .collect(),
        )),
        (Node::Vector(l), Node::Scalar(r)) => {
            vector_scalar(op, &l, &r, false, return_bool, ctx.steps)
        }
        (Node::Scalar(l), Node::Vector(r)) => {
            vector_scalar(op, &r, &l, true, return_bool, ctx.steps)
        }
        (Node::Vector(l), Node::Vector(r)) => {
            let m = Matching::of(b);
            match op {
                Op::And | Op::Or | Op::Unless => set_op(op, &m, &l, &r, ctx.steps),
                _ => vector_vector(op, &m, return_bool, &l, &r, ctx.steps),
            }
        }
        _ => Err(EvalError::Invalid(
            "binary operators take scalars or instant vectors".into(),
        )),
    }
}

fn vector_scalar(
    op: Op,
    vec: &[StepSeries],
    scalar: &[f64],
    swap: bool,
    return_bool: bool,
    steps: usize,
) -> Result<Node, EvalError> {
    if matches!(op, Op::And | Op::Or | Op::Unless) {
        return Err(EvalError::Invalid(
            "set operators need instant vectors on both sides".into(),
        ));
    }
    let mut out = Out::default();
    let ids: Vec<u32> = vec
        .iter()
        .map(|s| {
            let l = if op.drops_name() || return_bool {
                drop_name(&s.labels)
            } else {
                s.labels.clone()
            };
            out.id(l)
        })
        .collect();
    let by = ByStep::new(vec, steps);
    for step in 0..steps {
        let sv = scalar.get(step).copied().unwrap_or(f64::NAN);
        for &(si, v) in by.at(step) {
            let (l, r) = if swap { (sv, v) } else { (v, sv) };
            let (mut value, mut keep) = op.apply(l, r);
            if op.comparison() && swap {
                value = r;
            }
            if return_bool {
                value = if keep { 1.0 } else { 0.0 };
                keep = true;
            }
            if keep {
                if let Some(&id) = ids.get(si as usize) {
                    out.push(id, step, value)?;
                }
            }
        }
    }
    Ok(Node::Vector(out.finish()))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Card {
    OneToOne,
    ManyToOne,
    OneToMany,
}

struct Matching {
    card: Card,
    on: bool,
    labels: Vec<String>,
    include: Vec<String>,
}

impl Matching {
    fn of(b: &BinaryExpr) -> Matching {
        let (card, include) = match b.modifier.as_ref().map(|m| &m.card) {
            Some(VectorMatchCardinality::ManyToOne(l)) => (Card::ManyToOne, l.labels.clone()),
            Some(VectorMatchCardinality::OneToMany(l)) => (Card::OneToMany, l.labels.clone()),
            _ => (Card::OneToOne, Vec::new()),
        };
        let (on, labels) = match b.modifier.as_ref().and_then(|m| m.matching.as_ref()) {
            Some(LabelModifier::Include(l)) => (true, l.labels.clone()),
            Some(LabelModifier::Exclude(l)) => (false, l.labels.clone()),
            None => (false, Vec::new()),
        };
        Matching {
            card,
            on,
            labels,
            include,
        }
    }

    /// The labels two series must agree on to match.
    fn signature(&self, l: &Labels) -> Vec<(String, String)> {
        l.iter()
            .filter(|(k, _)| {
                let listed = self.labels.iter().any(|x| x == k);
                if self.on {
                    listed
                } else {
                    !listed && *k != METRIC_NAME
                }
            })
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
}

/// Interns signatures so each step compares integers.
fn signature_ids(m: &Matching, l: &[StepSeries], r: &[StepSeries]) -> (Vec<u32>, Vec<u32>) {
    let mut table: HashMap<Vec<(String, String)>, u32> = HashMap::new();
    let mut id = |s: &StepSeries| {
        let next = table.len() as u32;
        *table.entry(m.signature(&s.labels)).or_insert(next)
    };
    let lids = l.iter().map(&mut id).collect();
    let rids = r.iter().map(&mut id).collect();
    (lids, rids)
}

fn set_op(
    op: Op,
    m: &Matching,
    l: &[StepSeries],
    r: &[StepSeries],
    steps: usize,
) -> Result<Node, EvalError> {
    let (lsig, rsig) = signature_ids(m, l, r);
    let mut out = Out::default();
    let lout: Vec<u32> = l.iter().map(|s| out.id(s.labels.clone())).collect();
    let rout: Vec<u32> = r.iter().map(|s| out.id(s.labels.clone())).collect();
    let (lby, rby) = (ByStep::new(l, steps), ByStep::new(r, steps));
    let mut sigs: HashSet<u32> = HashSet::new();
    for step in 0..steps {
        let (lv, rv) = (lby.at(step), rby.at(step));
        let get = |ids: &[u32], i: u32| ids.get(i as usize).copied().unwrap_or(u32::MAX);
        sigs.clear();
        match op {
            Op::And => {
                if lv.is_empty() || rv.is_empty() {
                    continue;
                }
                sigs.extend(rv.iter().map(|&(i, _)| get(&rsig, i)));
                for &(i, v) in lv {
                    if sigs.contains(&get(&lsig, i)) {
                        out.push(get(&lout, i), step, v)?;
                    }
                }
            }
            Op::Or => {
                for &(i, v) in lv {
                    sigs.insert(get(&lsig, i));
                    out.push(get(&lout, i), step, v)?;
                }
                for &(i, v) in rv {
                    if lv.is_empty() || !sigs.contains(&get(&rsig, i)) {
                        out.push(get(&rout, i), step, v)?;
                    }
                }
            }
            _ => {
                sigs.extend(rv.iter().map(|&(i, _)| get(&rsig, i)));
                for &(i, v) in lv {
                    if rv.is_empty() || !sigs.contains(&get(&lsig, i)) {
                        out.push(get(&lout, i), step, v)?;
                    }
                }
            }
        }
    }
    Ok(Node::Vector(out.finish()))
}

fn vector_vector(
    op: Op,
    m: &Matching,
    return_bool: bool,
    l: &[StepSeries],
    r: &[StepSeries],
    steps: usize,
) -> Result<Node, EvalError> {
    let (lsig, rsig) = signature_ids(m, l, r);
    // For group_right the roles swap: the right side is the "many" side.
    let swapped = m.card == Card::OneToMany;
    let (many, one, many_sig, one_sig) = if swapped {
        (r, l, &rsig, &lsig)
    } else {
        (l, r, &lsig, &rsig)
    };
    let (many_by, one_by) = (ByStep::new(many, steps), ByStep::new(one, steps));
    let mut out = Out::default();
    let mut result_ids: HashMap<(u32, u32), u32> = HashMap::new();
    let mut one_at: HashMap<u32, (u32, f64)> = HashMap::new();
    let mut matched: HashMap<u32, HashSet<u32>> = HashMap::new();
    for step in 0..steps {
        let (mv, ov) = (many_by.at(step), one_by.at(step));
        if mv.is_empty() || ov.is_empty() {
            continue;
        }
        one_at.clear();
        for &(i, v) in ov {
            let sig = one_sig.get(i as usize).copied().unwrap_or(u32::MAX);
            if let Some(&(j, _)) = one_at.get(&sig) {
                let side = if swapped { "left" } else { "right" };
                let a = one
                    .get(i as usize)
                    .map(|s| s.labels.to_string())
                    .unwrap_or_default();
                let b = one
                    .get(j as usize)
                    .map(|s| s.labels.to_string())
                    .unwrap_or_default();
                return Err(execution(format!(
                    "found duplicate series for the match group on the {side} hand-side of the operation: [{a}, {b}];many-to-many matching not allowed: matching labels must be unique on one side"
                )));
            }
            one_at.insert(sig, (i, v));
        }
        matched.clear();
        for &(i, v) in mv {
            let sig = many_sig.get(i as usize).copied().unwrap_or(u32::MAX);
            let Some(&(j, ov)) = one_at.get(&sig) else {
                continue;
            };
            let (vl, vr) = if swapped { (ov, v) } else { (v, ov) };
            let (mut value, keep) = op.apply(vl, vr);
            if return_bool {
                value = if keep { 1.0 } else { 0.0 };
            } else if !keep {
                continue;
            }
            let id = match result_ids.get(&(i, j)) {
                Some(&id) => id,
                None => {
                    let (Some(ms), Some(os)) = (many.get(i as usize), one.get(j as usize)) else {
                        continue;
                    };
                    let mut labels = result_labels(op, m, &ms.labels, &os.labels);
                    if return_bool {
                        labels = labels.without(&[METRIC_NAME]);
                    }
                    let id = out.id(Arc::new(labels));
                    result_ids.insert((i, j), id);
                    id
                }
            };
            let seen = matched.entry(sig).or_default();
            if m.card == Card::OneToOne {
                if !seen.is_empty() {
                    return Err(execution("multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"));
                }
            } else if seen.contains(&id) {
                return Err(execution(
                    "multiple matches for labels: grouping labels must ensure unique matches",
                ));
            }
            seen.insert(id);
            out.push(id, step, value)?;
        }
    }
    Ok(Node::Vector(out.finish()))
}

/// Labels of a vector-vector result: the "many" side's, trimmed by the
/// matching and extended with `group_x` labels from the "one" side.
fn result_labels(op: Op, m: &Matching, many: &Lbl, one: &Lbl) -> Labels {
    let mut labels: Labels = (**many).clone();
    if op.drops_name() {
        labels = labels.without(&[METRIC_NAME]);
    }
    if m.card == Card::OneToOne {
        let names: Vec<&str> = m.labels.iter().map(String::as_str).collect();
        labels = if m.on {
            labels.keep(&names)
        } else {
            labels.without(&names)
        };
    }
    for name in &m.include {
        labels = labels.with(name, one.value(name));
    }
    labels
}
