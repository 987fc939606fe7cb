//! The embedded history behind the plugin's direct mode: what a Prometheus
//! server would keep of its scrapes, in process.
//!
//! Per target, a block holds up to [`BLOCK_ROWS`] scrapes: one timestamp
//! column shared by all series (delta-of-delta encoded) and, per series, a
//! value column compressed Gorilla-style (see `gorilla`). A series absent
//! from some scrapes of a block gets an internal absence marker there, which
//! costs a bit and is never returned. Old blocks go first when the
//! retention or the memory budget is exceeded.
//!
//! Staleness follows Prometheus: a series missing from a scrape, and every
//! series of a target whose scrape failed ([`Store::mark_down`]), gets a
//! staleness marker ([`STALE_NAN_BITS`]) at that scrape's timestamp.
//!
//! Memory: label names and values are interned once for all targets
//! (`intern`); a series holds its labels as pairs of 4-byte ids and the
//! lookup tables hold ids, so a series costs well under 200 bytes besides
//! its samples. Strings are freed with the last series using them (see
//! `intern` for when).
//!
//! Thread safety: every method takes `&self`; each target sits behind its
//! own `RwLock`, so one writer and any number of readers proceed together.

mod bits;
mod gorilla;
mod intern;
mod labels;
mod matcher;
mod target;
mod timestamps;

pub use labels::{Labels, METRIC_NAME};
pub use matcher::{anchored, MatchOp, Matcher};
pub use target::BLOCK_ROWS;

use intern::Interner;
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;
use target::{Mode, Target};

/// Prometheus's staleness marker: a NaN with this exact bit pattern.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;
/// Internal "no sample in this scrape" marker; never stored from input
/// (other NaNs are canonicalised) and never returned.
pub(crate) const ABSENT_BITS: u64 = 0x7ff0_0000_0000_0003;

/// Is `v` a staleness marker (not just any NaN)?
pub fn is_stale(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// The staleness marker value.
pub fn stale_nan() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// Blocks whose newest sample is older than this (relative to the newest
    /// sample of any target) are dropped.
    pub retention: Duration,
    /// Compressed data plus index above this drops the oldest blocks first.
    pub memory_budget_bytes: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            retention: Duration::from_secs(6 * 3600),
            memory_budget_bytes: 256 << 20,
        }
    }
}

/// Identifies a scrape target; its labels are added to every series.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TargetKey {
    pub job: String,
    pub instance: String,
    /// Extra target labels (e.g. from service discovery).
    pub labels: Vec<(String, String)>,
}

impl TargetKey {
    pub fn new(job: impl Into<String>, instance: impl Into<String>) -> TargetKey {
        TargetKey {
            job: job.into(),
            instance: instance.into(),
            labels: Vec::new(),
        }
    }

    pub fn with_label(mut self, name: impl Into<String>, value: impl Into<String>) -> TargetKey {
        self.labels.push((name.into(), value.into()));
        self
    }

    fn all_labels(&self) -> Vec<(String, String)> {
        let mut v = vec![
            ("job".to_string(), self.job.clone()),
            ("instance".to_string(), self.instance.clone()),
        ];
        v.extend(self.labels.iter().cloned());
        v
    }
}

/// What one ingest call stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IngestStats {
    pub samples: usize,
    pub series_created: usize,
    /// Second values for a series in the same scrape, dropped.
    pub duplicates: usize,
    /// Series missing from this scrape that were marked stale.
    pub stale_markers: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("scrape at {ts_ms} ms is older than the target's last scrape at {last_ms} ms")]
    OutOfOrder { ts_ms: i64, last_ms: i64 },
    #[error("selection exceeds its sample limit")]
    TooManySamples,
}

/// One series read back: its labels and samples in time order, staleness
/// markers included (test with [`is_stale`]).
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesView {
    pub labels: Arc<Labels>,
    pub samples: Vec<(i64, f64)>,
}

/// Sizes, for monitoring the store itself.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StoreStats {
    pub targets: usize,
    pub series: usize,
    /// Stored samples, staleness markers included.
    pub samples: u64,
    /// Compressed timestamps and values, with per-chunk bookkeeping.
    pub chunk_bytes: usize,
    /// Labels and lookup tables (estimate), interned strings included.
    pub index_bytes: usize,
    /// Distinct label names and values held once for all targets
    /// (including unused ones not swept yet).
    pub interned_strings: usize,
    /// Blocks dropped so far by retention or the memory budget.
    pub evicted_blocks: u64,
}

impl StoreStats {
    /// Compressed bytes per stored sample (the figure Prometheus quotes
    /// for its TSDB, about 1.37).
    pub fn bytes_per_sample(&self) -> f64 {
        if self.samples == 0 {
            0.0
        } else {
            self.chunk_bytes as f64 / self.samples as f64
        }
    }
}

struct TargetCell {
    inner: RwLock<Target>,
    bytes: AtomicUsize,
    /// [`Target::oldest_droppable`], readable without the lock.
    oldest: AtomicI64,
}

impl TargetCell {
    fn read(&self) -> RwLockReadGuard<'_, Target> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Target> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn refresh(&self, t: &Target) {
        self.bytes
            .store(t.chunk_bytes() + t.index_bytes(), Ordering::Relaxed);
        self.oldest.store(t.oldest_droppable(), Ordering::Relaxed);
    }
}

/// The history of every scraped target.
pub struct Store {
    config: StoreConfig,
    targets: RwLock<HashMap<TargetKey, Arc<TargetCell>>>,
    /// Label names and values, one copy for every target.
    interner: Arc<Interner>,
    newest_ts: AtomicI64,
    /// Blocks dropped so far by retention or budget.
    evictions: AtomicU64,
}

impl Store {
    pub fn new(config: StoreConfig) -> Store {
        Store {
            config,
            targets: RwLock::new(HashMap::new()),
            interner: Arc::new(Interner::default()),
            newest_ts: AtomicI64::new(i64::MIN),
            evictions: AtomicU64::new(0),
        }
    }

    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    fn cell(&self, key: &TargetKey) -> Arc<TargetCell> {
        if let Some(c) = self
            .targets
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
        {
            return c.clone();
        }
        self.targets
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key.clone())
            .or_insert_with(|| {
                Arc::new(TargetCell {
                    inner: RwLock::new(Target::new(key.all_labels(), Arc::clone(&self.interner))),
                    bytes: AtomicUsize::new(0),
                    oldest: AtomicI64::new(i64::MAX),
                })
            })
            .clone()
    }

    fn cells(&self) -> Vec<Arc<TargetCell>> {
        self.targets
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    fn with_target<R>(
        &self,
        key: &TargetKey,
        ts: i64,
        f: impl FnOnce(&mut Target) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let cell = self.cell(key);
        let r = {
            let mut t = cell.write();
            let r = f(&mut t);
            cell.refresh(&t);
            r
        }?;
        self.newest_ts.fetch_max(ts, Ordering::Relaxed);
        self.evict();
        Ok(r)
    }

    /// Stores one successful scrape of `target` taken at `ts_ms`: `samples`
    /// are `(name, labels, value)` as scraped (see
    /// `crate::scrape::ScrapeSamples`). `job`/`instance` are added, and series
    /// of the previous scrape missing from this one get a staleness marker.
    pub fn ingest<I, N, L, K, V>(
        &self,
        target: &TargetKey,
        ts_ms: i64,
        samples: I,
    ) -> Result<IngestStats, StoreError>
    where
        I: IntoIterator<Item = (N, L, f64)>,
        N: AsRef<str>,
        L: IntoIterator<Item = (K, V)> + Clone,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        self.with_target(target, ts_ms, |t| t.ingest(ts_ms, samples, Mode::Scrape))
    }

    /// Like [`Store::ingest`] but without staleness markers: for history
    /// loaded from elsewhere, where a missing sample means only "not
    /// recorded" (series then fade out after the 5-minute lookback).
    pub fn backfill<I, N, L, K, V>(
        &self,
        target: &TargetKey,
        ts_ms: i64,
        samples: I,
    ) -> Result<IngestStats, StoreError>
    where
        I: IntoIterator<Item = (N, L, f64)>,
        N: AsRef<str>,
        L: IntoIterator<Item = (K, V)> + Clone,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        self.with_target(target, ts_ms, |t| t.ingest(ts_ms, samples, Mode::Backfill))
    }

    /// A failed scrape of `target` at `ts_ms`: all its series go stale.
    /// Returns how many staleness markers were written.
    pub fn mark_down(&self, target: &TargetKey, ts_ms: i64) -> Result<usize, StoreError> {
        self.with_target(target, ts_ms, |t| t.mark_down(ts_ms))
    }

    /// Appends samples at `ts_ms` that are not part of the scrape itself
    /// (such as the scraper's `up`): they neither mark the scrape's other
    /// series stale nor go stale themselves when a later scrape lacks them.
    /// Each is a name and a value; the series carry only the target labels.
    pub fn append(
        &self,
        target: &TargetKey,
        ts_ms: i64,
        samples: &[(&str, f64)],
    ) -> Result<(), StoreError> {
        let none: [(&str, &str); 0] = [];
        let samples = samples.iter().map(|&(name, v)| (name, none, v));
        self.with_target(target, ts_ms, |t| {
            t.ingest(ts_ms, samples, Mode::Synthetic).map(|_| ())
        })
    }

    /// Drops blocks beyond the retention, then oldest-first while over
    /// budget; strings only the dropped series used are freed.
    fn evict(&self) {
        if self.evict_blocks() {
            self.interner.sweep_if_grown();
        }
    }

    /// The eviction loop of [`Store::evict`]; true if a block was dropped.
    fn evict_blocks(&self) -> bool {
        let mut dropped_any = false;
        let cutoff = self
            .newest_ts
            .load(Ordering::Relaxed)
            .saturating_sub(self.config.retention.as_millis() as i64);
        loop {
            let cells = self.cells();
            let total: usize = cells
                .iter()
                .map(|c| c.bytes.load(Ordering::Relaxed))
                .sum::<usize>()
                + self.interner.bytes();
            let Some(oldest) = cells
                .iter()
                .min_by_key(|c| c.oldest.load(Ordering::Relaxed))
            else {
                return dropped_any;
            };
            let when = oldest.oldest.load(Ordering::Relaxed);
            if when == i64::MAX || (when >= cutoff && total <= self.config.memory_budget_bytes) {
                return dropped_any;
            }
            let mut t = oldest.write();
            let dropped = t.drop_oldest();
            oldest.refresh(&t);
            if !dropped {
                return dropped_any;
            }
            dropped_any = true;
            self.evictions.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Every series matching all `matchers` with samples in
    /// `[start_ms, end_ms]`, sorted by labels.
    pub fn select(&self, matchers: &[Matcher], start_ms: i64, end_ms: i64) -> Vec<SeriesView> {
        self.select_limited(matchers, start_ms, end_ms, usize::MAX)
            .unwrap_or_default()
    }

    /// [`Store::select`] that gives up once more than `max_samples` samples
    /// would be returned.
    pub fn select_limited(
        &self,
        matchers: &[Matcher],
        start_ms: i64,
        end_ms: i64,
        max_samples: usize,
    ) -> Result<Vec<SeriesView>, StoreError> {
        let mut out = Vec::new();
        let mut budget = max_samples;
        for cell in self.cells() {
            cell.read()
                .select(matchers, start_ms, end_ms, &mut budget, &mut out)?;
        }
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        // Two targets with identical labels are one series to PromQL.
        out.dedup_by(|b, a| {
            if a.labels != b.labels {
                return false;
            }
            a.samples.append(&mut b.samples);
            a.samples.sort_by_key(|s| s.0);
            a.samples.dedup_by_key(|s| s.0);
            true
        });
        Ok(out)
    }

    /// Every label name of any live series, sorted.
    pub fn label_names(&self) -> Vec<String> {
        let mut set = BTreeSet::new();
        for cell in self.cells() {
            cell.read().for_each_label_name(|k| {
                if !set.contains(k) {
                    set.insert(k.to_string());
                }
            });
        }
        set.into_iter().collect()
    }

    /// Values of label `name` among live series matching `matchers`, sorted.
    pub fn label_values(&self, name: &str, matchers: &[Matcher]) -> Vec<String> {
        let mut set = BTreeSet::new();
        for cell in self.cells() {
            cell.read().for_each_label_value(name, matchers, |v| {
                if !set.contains(v) {
                    set.insert(v.to_string());
                }
            });
        }
        set.into_iter().collect()
    }

    /// Every metric name held, sorted.
    pub fn metric_names(&self) -> Vec<String> {
        let mut set = BTreeSet::new();
        for cell in self.cells() {
            for n in cell.read().metric_names() {
                set.insert(n.to_string());
            }
        }
        set.into_iter().collect()
    }

    pub fn targets(&self) -> Vec<TargetKey> {
        let mut v: Vec<TargetKey> = self
            .targets
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .cloned()
            .collect();
        v.sort();
        v
    }

    pub fn stats(&self) -> StoreStats {
        let mut s = StoreStats {
            evicted_blocks: self.evictions.load(Ordering::Relaxed),
            ..StoreStats::default()
        };
        for cell in self.cells() {
            let t = cell.read();
            s.targets += 1;
            s.series += t.live_series();
            s.samples += t.samples();
            s.chunk_bytes += t.chunk_bytes();
            s.index_bytes += t.index_bytes();
        }
        s.index_bytes += self.interner.bytes();
        s.interned_strings = self.interner.len();
        s
    }
}

#[cfg(test)]
mod tests;
