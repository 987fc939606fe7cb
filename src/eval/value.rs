//! Query results, shaped for Grafana data frames: labels plus
//! `(timestamp ms, value)` points.

pub use crate::store::Labels;
use std::sync::Arc;

/// One element of an instant vector.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub labels: Labels,
    pub t: i64,
    pub v: f64,
}

/// One series of a range result.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub labels: Labels,
    pub points: Vec<(i64, f64)>,
}

/// A range query's result: series sorted by labels.
pub type Matrix = Vec<Series>;

/// An instant query's result.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Scalar {
        t: i64,
        v: f64,
    },
    /// Sorted by labels.
    Vector(Vec<Sample>),
    /// A range selector evaluated at one instant (raw samples).
    Matrix(Matrix),
    String(String),
}

pub(crate) type Lbl = Arc<Labels>;

/// An intermediate series: values at step indexes of the evaluation grid.
#[derive(Clone, Debug)]
pub(crate) struct StepSeries {
    pub labels: Lbl,
    pub points: Vec<(u32, f64)>,
}

/// What a sub-expression evaluates to over the whole grid.
#[derive(Clone, Debug)]
pub(crate) enum Node {
    /// An instant vector at every step (each series unique by labels).
    Vector(Vec<StepSeries>),
    /// One value per step.
    Scalar(Vec<f64>),
    String(String),
}
