//! vLLM monitoring for Grafana.
//!
//! The data path is scrape → parse → store → evaluate → frame → Grafana; see
//! `docs/ARCHITECTURE.md` for which module owns which step.

pub mod alerts;
pub mod catalog;
pub mod check;
pub mod dashboard;
pub mod eval;
pub mod exposition;
#[doc(hidden)]
pub mod fuzzing;
pub mod generator_config;
pub mod kubernetes;
pub mod plugin;
pub mod promql;
pub mod scrape;
pub mod simulator;
pub mod store;
pub mod targets;
