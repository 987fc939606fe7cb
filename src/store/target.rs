//! One scrape target's history: a queue of blocks, each a timestamp column
//! (one entry per scrape) plus a compressed value column per series that
//! appeared during the block.

use super::gorilla::ValueEncoder;
use super::labels::{Labels, METRIC_NAME};
use super::matcher::{MatchOp, Matcher};
use super::timestamps::TimeEncoder;
use super::{IngestStats, SeriesView, StoreError, ABSENT_BITS, STALE_NAN_BITS};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// Scrapes per block: an hour at 15 s. Longer blocks amortise each chunk's
/// 64-bit first value; shorter ones free memory in finer steps.
pub const BLOCK_ROWS: usize = 240;
/// Bookkeeping counted per series chunk (series id, start row, encoder state).
const CHUNK_OVERHEAD: usize = 16;

type SeriesId = u32;

struct SeriesMeta {
    labels: Arc<Labels>,
    /// Input hashes that resolve to this series (normally one).
    hashes: Vec<u64>,
    /// `(block seq, chunk slot)` of each block holding values, oldest first.
    chunks: VecDeque<(u64, u32)>,
    /// Global row of the last value written (0: none yet).
    written_row: u64,
}

struct ValueChunk {
    series: SeriesId,
    /// Row within the block of the first value.
    start: u32,
    enc: ValueEncoder,
}

struct Block {
    seq: u64,
    times: TimeEncoder,
    chunks: Vec<ValueChunk>,
    /// Values held, stale markers included, absence markers not.
    samples: u64,
}

impl Block {
    fn bytes(&self) -> usize {
        self.times.bytes()
            + self
                .chunks
                .iter()
                .map(|c| c.enc.bytes() + CHUNK_OVERHEAD)
                .sum::<usize>()
    }

    fn max_t(&self) -> i64 {
        self.times.last().unwrap_or(i64::MIN)
    }

    fn min_t(&self) -> i64 {
        self.times.first().unwrap_or(i64::MAX)
    }
}

/// How a batch of samples relates to the ones before it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A complete scrape: series it lacks get a staleness marker.
    Scrape,
    /// Loaded history: no staleness markers.
    Backfill,
    /// Synthetic per-scrape series (`up`, ...), exempt from staleness.
    Synthetic,
}

pub(crate) struct Target {
    /// `job`, `instance` and extra target labels, sorted.
    target_labels: Vec<(String, String)>,
    series: Vec<Option<SeriesMeta>>,
    by_hash: HashMap<u64, Vec<SeriesId>>,
    by_name: HashMap<String, Vec<SeriesId>>,
    blocks: VecDeque<Block>,
    next_seq: u64,
    rows: u64,
    last_ts: Option<i64>,
    /// Series the last scrape returned, candidates for staleness markers.
    scraped_prev: Vec<SeriesId>,
    sealed_bytes: usize,
    index_bytes: usize,
    samples: u64,
    live_series: usize,
}

/// FNV-1a over the raw name and labels: cheap, and only a first filter
/// (hits are verified against the stored labels).
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    #[inline]
    fn write(&mut self, s: &str) {
        for &b in s.as_bytes() {
            self.0 ^= b as u64;
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 ^= 0xff;
        self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
    }
}

fn canonical(v: f64) -> f64 {
    // Only the staleness marker keeps its NaN payload: other NaN bit
    // patterns (including the internal absence marker) become the standard NaN.
    if v.is_nan() && v.to_bits() != STALE_NAN_BITS {
        f64::NAN
    } else {
        v
    }
}

impl Target {
    pub(crate) fn new(target_labels: Vec<(String, String)>) -> Target {
        let mut target_labels: Vec<(String, String)> = target_labels
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect();
        target_labels.sort();
        target_labels.dedup_by(|b, a| a.0 == b.0);
        Target {
            target_labels,
            series: Vec::new(),
            by_hash: HashMap::new(),
            by_name: HashMap::new(),
            blocks: VecDeque::new(),
            next_seq: 0,
            rows: 0,
            last_ts: None,
            scraped_prev: Vec::new(),
            sealed_bytes: 0,
            index_bytes: 0,
            samples: 0,
            live_series: 0,
        }
    }

    /// Opens the row for `ts` (or reuses the last one for an equal `ts`).
    fn begin_row(&mut self, ts: i64) -> Result<(), StoreError> {
        match self.last_ts {
            Some(last) if ts < last => {
                return Err(StoreError::OutOfOrder {
                    ts_ms: ts,
                    last_ms: last,
                })
            }
            Some(last) if ts == last => return Ok(()),
            _ => {}
        }
        let full = self
            .blocks
            .back()
            .is_none_or(|b| b.times.len() >= BLOCK_ROWS);
        if full {
            if let Some(head) = self.blocks.back_mut() {
                head.times.shrink();
                for c in &mut head.chunks {
                    c.enc.shrink();
                }
                head.chunks.shrink_to_fit();
                self.sealed_bytes += head.bytes();
            }
            self.blocks.push_back(Block {
                seq: self.next_seq,
                times: TimeEncoder::default(),
                chunks: Vec::new(),
                samples: 0,
            });
            self.next_seq += 1;
        }
        if let Some(head) = self.blocks.back_mut() {
            head.times.push(ts);
        }
        self.rows += 1;
        self.last_ts = Some(ts);
        Ok(())
    }

    pub(crate) fn ingest<I, N, L, K, V>(
        &mut self,
        ts: i64,
        samples: I,
        mode: Mode,
    ) -> Result<IngestStats, StoreError>
    where
        I: IntoIterator<Item = (N, L, f64)>,
        N: AsRef<str>,
        L: IntoIterator<Item = (K, V)> + Clone,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        self.begin_row(ts)?;
        let row = self.rows;
        let mut stats = IngestStats::default();
        let mut now = Vec::with_capacity(self.scraped_prev.len());
        for (name, labels, value) in samples {
            let name = name.as_ref();
            let id = self.series_id(name, labels, &mut stats);
            if self.write(id, canonical(value), row) {
                stats.samples += 1;
                now.push(id);
            } else {
                stats.duplicates += 1;
            }
        }
        if mode == Mode::Scrape {
            let prev = std::mem::take(&mut self.scraped_prev);
            for &id in &prev {
                if self.write(id, f64::from_bits(STALE_NAN_BITS), row) {
                    stats.stale_markers += 1;
                }
            }
            self.scraped_prev = now;
        }
        Ok(stats)
    }

    /// A failed scrape at `ts`: every series of the last scrape goes stale.
    pub(crate) fn mark_down(&mut self, ts: i64) -> Result<usize, StoreError> {
        self.begin_row(ts)?;
        let row = self.rows;
        let prev = std::mem::take(&mut self.scraped_prev);
        Ok(prev
            .iter()
            .filter(|&&id| self.write(id, f64::from_bits(STALE_NAN_BITS), row))
            .count())
    }

    /// Finds or creates the series of a raw sample.
    fn series_id<L, K, V>(&mut self, name: &str, labels: L, stats: &mut IngestStats) -> SeriesId
    where
        L: IntoIterator<Item = (K, V)> + Clone,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut h = Fnv::new();
        h.write(name);
        for (k, v) in labels.clone() {
            h.write(k.as_ref());
            h.write(v.as_ref());
        }
        let hash = h.0;
        if let Some(ids) = self.by_hash.get(&hash) {
            for &id in ids {
                if let Some(Some(meta)) = self.series.get(id as usize) {
                    if self.same_series(&meta.labels, name, labels.clone()) {
                        return id;
                    }
                }
            }
        }
        let built = Arc::new(self.build_labels(name, labels));
        // Same labels in another order (or a hash collision): find by value.
        let existing = self.by_name.get(name).and_then(|ids| {
            ids.iter().copied().find(
                |&id| matches!(self.series.get(id as usize), Some(Some(m)) if m.labels == built),
            )
        });
        let id = match existing {
            Some(id) => {
                if let Some(Some(meta)) = self.series.get_mut(id as usize) {
                    meta.hashes.push(hash);
                }
                id
            }
            None => {
                let id = self.series.len() as SeriesId;
                self.index_bytes += built.heap_bytes() + 96;
                self.series.push(Some(SeriesMeta {
                    labels: built,
                    hashes: vec![hash],
                    chunks: VecDeque::new(),
                    written_row: 0,
                }));
                self.by_name.entry(name.to_string()).or_default().push(id);
                self.live_series += 1;
                stats.series_created += 1;
                id
            }
        };
        self.by_hash.entry(hash).or_default().push(id);
        id
    }

    /// The scraped label a stored label came from may have been renamed
    /// `exported_<name>` to make room for a target label.
    fn stored_name<'k>(&self, k: &'k str) -> std::borrow::Cow<'k, str> {
        if k == METRIC_NAME || self.target_labels.iter().any(|(t, _)| t == k) {
            std::borrow::Cow::Owned(format!("exported_{k}"))
        } else {
            std::borrow::Cow::Borrowed(k)
        }
    }

    fn build_labels<L, K, V>(&self, name: &str, labels: L) -> Labels
    where
        L: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut pairs: Vec<(String, String)> = vec![(METRIC_NAME.to_string(), name.to_string())];
        pairs.extend(labels.into_iter().map(|(k, v)| {
            (
                self.stored_name(k.as_ref()).into_owned(),
                v.as_ref().to_string(),
            )
        }));
        pairs.extend(self.target_labels.iter().cloned());
        Labels::new(pairs)
    }

    fn same_series<L, K, V>(&self, stored: &Labels, name: &str, labels: L) -> bool
    where
        L: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        if stored.metric_name() != Some(name) {
            return false;
        }
        let mut n = 1 + self.target_labels.len();
        for (k, v) in labels {
            let v = v.as_ref();
            if v.is_empty() {
                continue;
            }
            n += 1;
            if stored.get(&self.stored_name(k.as_ref())) != Some(v) {
                return false;
            }
        }
        n == stored.len()
    }

    /// Appends `v` to series `id` in the open row; false if it already has one.
    fn write(&mut self, id: SeriesId, v: f64, row: u64) -> bool {
        let (Some(Some(meta)), Some(head)) =
            (self.series.get_mut(id as usize), self.blocks.back_mut())
        else {
            return false;
        };
        if meta.written_row == row {
            return false;
        }
        let pos = (head.times.len() as u32).saturating_sub(1);
        let slot = match meta.chunks.back() {
            Some(&(seq, slot)) if seq == head.seq => slot,
            _ => {
                head.chunks.push(ValueChunk {
                    series: id,
                    start: pos,
                    enc: ValueEncoder::default(),
                });
                let slot = (head.chunks.len() - 1) as u32;
                meta.chunks.push_back((head.seq, slot));
                slot
            }
        };
        let Some(chunk) = head.chunks.get_mut(slot as usize) else {
            return false;
        };
        // Rows the series missed inside this block hold an absence marker.
        while chunk.start + chunk.enc.len() < pos {
            chunk.enc.push(f64::from_bits(ABSENT_BITS));
        }
        chunk.enc.push(v);
        meta.written_row = row;
        head.samples += 1;
        self.samples += 1;
        true
    }

    /// Newest timestamp of the oldest block that may be dropped (the open
    /// block never is), or `i64::MAX`.
    pub(crate) fn oldest_droppable(&self) -> i64 {
        if self.blocks.len() < 2 {
            return i64::MAX;
        }
        self.blocks.front().map_or(i64::MAX, Block::max_t)
    }

    /// Drops the oldest closed block and forgets series left without data.
    pub(crate) fn drop_oldest(&mut self) -> bool {
        if self.blocks.len() < 2 {
            return false;
        }
        let Some(block) = self.blocks.pop_front() else {
            return false;
        };
        self.sealed_bytes = self.sealed_bytes.saturating_sub(block.bytes());
        self.samples = self.samples.saturating_sub(block.samples);
        for chunk in &block.chunks {
            let id = chunk.series;
            let gone = match self.series.get_mut(id as usize) {
                Some(Some(meta)) => {
                    if meta
                        .chunks
                        .front()
                        .is_some_and(|&(seq, _)| seq == block.seq)
                    {
                        meta.chunks.pop_front();
                    }
                    meta.chunks.is_empty()
                }
                _ => false,
            };
            if gone {
                self.forget(id);
            }
        }
        true
    }

    fn forget(&mut self, id: SeriesId) {
        let Some(meta) = self.series.get_mut(id as usize).and_then(Option::take) else {
            return;
        };
        self.live_series -= 1;
        self.index_bytes = self
            .index_bytes
            .saturating_sub(meta.labels.heap_bytes() + 96);
        for h in &meta.hashes {
            if let Some(ids) = self.by_hash.get_mut(h) {
                ids.retain(|&x| x != id);
                if ids.is_empty() {
                    self.by_hash.remove(h);
                }
            }
        }
        if let Some(name) = meta.labels.metric_name() {
            if let Some(ids) = self.by_name.get_mut(name) {
                ids.retain(|&x| x != id);
                if ids.is_empty() {
                    self.by_name.remove(name);
                }
            }
        }
        self.scraped_prev.retain(|&x| x != id);
    }

    pub(crate) fn chunk_bytes(&self) -> usize {
        self.sealed_bytes + self.blocks.back().map_or(0, Block::bytes)
    }

    pub(crate) fn index_bytes(&self) -> usize {
        self.index_bytes
    }

    pub(crate) fn samples(&self) -> u64 {
        self.samples
    }

    pub(crate) fn live_series(&self) -> usize {
        self.live_series
    }

    /// Series whose labels satisfy every matcher.
    fn matching(&self, matchers: &[Matcher]) -> Vec<SeriesId> {
        let name_eq = matchers
            .iter()
            .find(|m| m.name == METRIC_NAME && matches!(m.op, MatchOp::Equal));
        let candidates: Vec<SeriesId> = match name_eq {
            Some(m) => self.by_name.get(&m.value).cloned().unwrap_or_default(),
            None => {
                let name_terms: Vec<&Matcher> = matchers
                    .iter()
                    .filter(|m| m.name == METRIC_NAME && !m.is_noop())
                    .collect();
                self.by_name
                    .iter()
                    .filter(|(n, _)| name_terms.iter().all(|m| m.matches(n)))
                    .flat_map(|(_, ids)| ids.iter().copied())
                    .collect()
            }
        };
        let rest: Vec<&Matcher> = matchers
            .iter()
            .filter(|m| m.name != METRIC_NAME && !m.is_noop())
            .collect();
        candidates
            .into_iter()
            .filter(|&id| match self.series.get(id as usize) {
                Some(Some(meta)) => rest.iter().all(|m| m.matches_labels(&meta.labels)),
                _ => false,
            })
            .collect()
    }

    /// Appends the matching series with samples in `[mint, maxt]` to `out`,
    /// spending at most `budget` samples.
    pub(crate) fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        budget: &mut usize,
        out: &mut Vec<SeriesView>,
    ) -> Result<(), StoreError> {
        let ids = self.matching(matchers);
        if ids.is_empty() {
            return Ok(());
        }
        let first_seq = self.blocks.front().map_or(0, |b| b.seq);
        let mut times: Vec<Option<Vec<i64>>> = vec![None; self.blocks.len()];
        for id in ids {
            let Some(Some(meta)) = self.series.get(id as usize) else {
                continue;
            };
            let mut samples = Vec::new();
            for &(seq, slot) in &meta.chunks {
                let bi = seq.wrapping_sub(first_seq) as usize;
                let Some(block) = self.blocks.get(bi) else {
                    continue;
                };
                if block.max_t() < mint || block.min_t() > maxt {
                    continue;
                }
                let Some(ts) = times.get_mut(bi) else {
                    continue;
                };
                let ts = ts.get_or_insert_with(|| block.times.decode());
                let Some(chunk) = block.chunks.get(slot as usize) else {
                    continue;
                };
                let rows = ts.get(chunk.start as usize..).unwrap_or(&[]);
                for (&t, v) in rows.iter().zip(chunk.enc.iter()) {
                    if t > maxt {
                        break;
                    }
                    if t >= mint && v.to_bits() != ABSENT_BITS {
                        samples.push((t, v));
                    }
                }
            }
            if samples.is_empty() {
                continue;
            }
            if samples.len() > *budget {
                return Err(StoreError::TooManySamples);
            }
            *budget -= samples.len();
            out.push(SeriesView {
                labels: meta.labels.clone(),
                samples,
            });
        }
        Ok(())
    }

    /// Labels of live series matching `matchers`.
    pub(crate) fn for_each_labels(&self, matchers: &[Matcher], mut f: impl FnMut(&Labels)) {
        for id in self.matching(matchers) {
            if let Some(Some(meta)) = self.series.get(id as usize) {
                f(&meta.labels);
            }
        }
    }

    pub(crate) fn metric_names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }
}
