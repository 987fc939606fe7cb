//! One scrape target's history: a queue of blocks, each a timestamp column
//! (one entry per scrape) plus a compressed value column per series that
//! appeared during the block.

use super::bits::BitReader;
use super::gorilla::{ValueDecoder, ValueEncoder};
use super::intern::{Interner, Sym, Symbols};
use super::labels::{Labels, METRIC_NAME};
use super::matcher::{MatchOp, Matcher};
use super::timestamps::TimeEncoder;
use super::{IngestStats, SeriesView, StoreError, ABSENT_BITS, STALE_NAN_BITS};
use hashbrown::HashTable;
use std::collections::{HashMap, VecDeque};
use std::mem::size_of;
use std::sync::Arc;

/// Scrapes per block: an hour at 15 s. Longer blocks amortise each chunk's
/// 64-bit first value; shorter ones free memory in finer steps.
pub const BLOCK_ROWS: usize = 240;
/// Bookkeeping counted with the compressed data per series chunk (series
/// id, start row); the rest of a chunk's fixed size counts as index.
const CHUNK_OVERHEAD: usize = 8;
/// A block's slot for a series without a chunk there.
const NO_CHUNK: u32 = u32::MAX;

type SeriesId = u32;

struct SeriesMeta {
    /// `(name, value)` symbols of the series' own labels (`__name__` and the
    /// scraped ones, renamed as stored), sorted by name text; the target
    /// labels are shared by every series and not repeated here.
    labels: Box<[(Sym, Sym)]>,
    /// Input hash this series was created from (more in `Target::aliases`).
    hash: u64,
    /// Sequence number of the newest block holding a value, truncated
    /// (only compared for equality with blocks that are at most a
    /// retention apart, far fewer than 2^32).
    last_seq: u32,
    /// Global row of the last value written, truncated likewise (0: none yet).
    written_row: u32,
}

struct ValueChunk {
    series: SeriesId,
    /// Row within the block of the first value.
    start: u32,
    enc: ValueEncoder,
}

/// A sealed block's value chunks: their code in one allocation, and 16
/// bytes of bookkeeping each instead of an encoder.
struct Packed {
    words: Box<[u64]>,
    chunks: Box<[PackedChunk]>,
}

struct PackedChunk {
    series: SeriesId,
    /// Row within the block of the first value.
    start: u16,
    /// Values held.
    count: u16,
    /// First word in [`Packed::words`].
    offset: u32,
    /// Bits of code.
    bits: u32,
}

// Rows and values of a block fit `PackedChunk`'s fields.
const _: () = assert!(BLOCK_ROWS <= u16::MAX as usize);

struct Block {
    seq: u64,
    times: TimeEncoder,
    /// The open block's chunks (empty once packed).
    chunks: Vec<ValueChunk>,
    /// The chunks once the block is sealed.
    packed: Option<Packed>,
    /// By series id: its chunk's index in `chunks` (or the packed ones),
    /// or [`NO_CHUNK`].
    slots: Vec<u32>,
    /// Values held, stale markers included, absence markers not.
    samples: u64,
    /// Trimmed once full (see [`Target::shrink_if_full`]).
    trimmed: bool,
}

impl Block {
    /// Bytes of compressed data, with [`CHUNK_OVERHEAD`] per chunk (the
    /// same before and after packing).
    fn bytes(&self) -> usize {
        let values = match &self.packed {
            Some(p) => p.words.len() * 8 + p.chunks.len() * CHUNK_OVERHEAD,
            None => self
                .chunks
                .iter()
                .map(|c| c.enc.bytes() + CHUNK_OVERHEAD)
                .sum::<usize>(),
        };
        self.times.bytes() + values
    }

    /// Everything else the block holds: chunk slots, encoder state and
    /// unused capacity (only the open block has any; sealing trims it).
    fn overhead_bytes(&self, open: bool) -> usize {
        let slack = if open {
            self.times.slack()
                + self.chunks.iter().map(|c| c.enc.slack()).sum::<usize>()
                + (self.chunks.capacity() - self.chunks.len()) * size_of::<ValueChunk>()
        } else {
            0
        };
        let bookkeeping = match &self.packed {
            Some(p) => p.chunks.len() * (size_of::<PackedChunk>() - CHUNK_OVERHEAD),
            None => self.chunks.len() * (size_of::<ValueChunk>() - CHUNK_OVERHEAD),
        };
        self.slots.capacity() * size_of::<u32>() + bookkeeping + slack
    }

    /// Series `id`'s values in this block: the row of the first, and a
    /// decoder.
    fn values_of(&self, id: SeriesId) -> Option<(usize, ValueDecoder<'_>)> {
        let slot = *self.slots.get(id as usize)? as usize;
        match &self.packed {
            Some(p) => {
                let c = p.chunks.get(slot)?;
                let from = c.offset as usize;
                let words = p.words.get(from..from + c.bits.div_ceil(64) as usize)?;
                let r = BitReader::new(words, c.bits as usize);
                Some((c.start as usize, ValueDecoder::new(r, c.count as u32)))
            }
            None => {
                let c = self.chunks.get(slot)?;
                Some((c.start as usize, c.enc.iter()))
            }
        }
    }

    /// Words of code series `id` has in this block.
    fn code_words(&self, id: SeriesId) -> usize {
        let Some(&slot) = self.slots.get(id as usize) else {
            return 0;
        };
        match &self.packed {
            Some(p) => p
                .chunks
                .get(slot as usize)
                .map_or(0, |c| c.bits.div_ceil(64) as usize),
            None => self
                .chunks
                .get(slot as usize)
                .map_or(0, |c| c.enc.bytes() / 8),
        }
    }

    /// The series with a chunk here.
    fn series_ids(&self) -> Vec<SeriesId> {
        match &self.packed {
            Some(p) => p.chunks.iter().map(|c| c.series).collect(),
            None => self.chunks.iter().map(|c| c.series).collect(),
        }
    }

    /// Seals the block: every buffer at its exact size, the chunks packed.
    fn seal(&mut self) {
        self.times.shrink();
        self.slots.shrink_to_fit();
        if self.packed.is_some() {
            return;
        }
        let total: usize = self.chunks.iter().map(|c| c.enc.code().0.len()).sum();
        let mut words = Vec::with_capacity(total);
        let mut chunks = Vec::with_capacity(self.chunks.len());
        for c in &self.chunks {
            let (code, bits) = c.enc.code();
            let (Ok(start), Ok(count), Ok(offset)) = (
                u16::try_from(c.start),
                u16::try_from(c.enc.len()),
                u32::try_from(words.len()),
            ) else {
                // Cannot happen within BLOCK_ROWS; stay unpacked.
                self.shrink();
                return;
            };
            chunks.push(PackedChunk {
                series: c.series,
                start,
                count,
                offset,
                bits,
            });
            words.extend_from_slice(code);
        }
        self.packed = Some(Packed {
            words: words.into_boxed_slice(),
            chunks: chunks.into_boxed_slice(),
        });
        self.chunks = Vec::new();
    }

    /// Trims every buffer to its exact size.
    fn shrink(&mut self) {
        self.times.shrink();
        for c in &mut self.chunks {
            c.enc.shrink();
        }
        self.chunks.shrink_to_fit();
        self.slots.shrink_to_fit();
    }

    fn max_t(&self) -> i64 {
        self.times.last().unwrap_or(i64::MIN)
    }

    fn min_t(&self) -> i64 {
        self.times.first().unwrap_or(i64::MAX)
    }
}

/// Input hash → series. Each series is in `first` under the hash it was
/// created from, which the table does not store (it is the series'
/// [`SeriesMeta::hash`]): 4 bytes a slot. Further hashes of a series (the
/// same labels in another order) go to `more`, normally empty.
#[derive(Default)]
struct HashIndex {
    first: HashTable<SeriesId>,
    more: HashMap<u64, Vec<SeriesId>>,
}

/// The creation hash of series `id` (0 for a free id, never asked).
fn hash_of(series: &[Option<SeriesMeta>], id: SeriesId) -> u64 {
    match series.get(id as usize) {
        Some(Some(m)) => m.hash,
        _ => 0,
    }
}

impl HashIndex {
    fn candidates<'a>(
        &'a self,
        h: u64,
        series: &'a [Option<SeriesMeta>],
    ) -> impl Iterator<Item = SeriesId> + 'a {
        self.first
            .iter_hash(h)
            .copied()
            .filter(move |&id| hash_of(series, id) == h)
            .chain(self.more.get(&h).into_iter().flatten().copied())
    }

    /// Adds series `id` under its own hash (already in `series`).
    fn insert_first(&mut self, id: SeriesId, series: &[Option<SeriesMeta>]) {
        self.first
            .insert_unique(hash_of(series, id), id, |&x| hash_of(series, x));
    }

    fn insert_more(&mut self, h: u64, id: SeriesId) {
        let ids = self.more.entry(h).or_default();
        if !ids.contains(&id) {
            ids.push(id);
        }
    }

    fn remove_first(&mut self, h: u64, id: SeriesId) {
        if let Ok(e) = self.first.find_entry(h, |&x| x == id) {
            e.remove();
        }
    }

    fn remove_more(&mut self, h: u64, id: SeriesId) {
        if let Some(ids) = self.more.get_mut(&h) {
            ids.retain(|&x| x != id);
            if ids.is_empty() {
                self.more.remove(&h);
            }
        }
    }

    fn bytes(&self) -> usize {
        self.first.allocation_size()
            + self
                .more
                .values()
                .map(|v| size_of::<(u64, Vec<SeriesId>)>() + v.capacity() * 4)
                .sum::<usize>()
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
    interner: Arc<Interner>,
    /// `job`, `instance` and extra target labels, sorted, shared strings.
    target_labels: Vec<(Arc<str>, Arc<str>)>,
    symbols: Symbols,
    series: Vec<Option<SeriesMeta>>,
    /// Ids of forgotten series, reused first.
    free_ids: Vec<SeriesId>,
    by_hash: HashIndex,
    /// Further input hashes of series reached by more than one (rare).
    aliases: HashMap<SeriesId, Vec<u64>>,
    /// Postings per metric name symbol.
    by_name: HashMap<Sym, Vec<SeriesId>>,
    blocks: VecDeque<Block>,
    next_seq: u64,
    rows: u64,
    last_ts: Option<i64>,
    /// Series the last scrape returned, candidates for staleness markers.
    scraped_prev: Vec<SeriesId>,
    sealed_bytes: usize,
    /// Label symbols held by live series.
    label_pairs: usize,
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

/// `metric name` key of series without one.
const NO_NAME: Sym = Sym::MAX;

/// The name a scraped label is stored under: one clashing with a target
/// label (or `__name__`) is renamed `exported_<name>`.
fn stored_name<'k>(
    target_labels: &[(Arc<str>, Arc<str>)],
    k: &'k str,
) -> std::borrow::Cow<'k, str> {
    if k == METRIC_NAME || target_labels.iter().any(|(t, _)| &**t == k) {
        std::borrow::Cow::Owned(format!("exported_{k}"))
    } else {
        std::borrow::Cow::Borrowed(k)
    }
}

/// Where a matcher finds its value on this target's series.
enum Lookup<'a> {
    /// A target label: the same value on every series.
    Fixed(&'a str),
    /// A label of the series itself, by name symbol (`None`: no series of
    /// this target has it, so it reads as `""`).
    Own(Option<Sym>),
}

impl Target {
    pub(crate) fn new(target_labels: Vec<(String, String)>, interner: Arc<Interner>) -> Target {
        let mut plain: Vec<(String, String)> = target_labels
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect();
        plain.sort();
        plain.dedup_by(|b, a| a.0 == b.0);
        let target_labels = plain
            .iter()
            .map(|(k, v)| (interner.intern(k), interner.intern(v)))
            .collect();
        Target {
            interner,
            target_labels,
            symbols: Symbols::default(),
            series: Vec::new(),
            free_ids: Vec::new(),
            by_hash: HashIndex::default(),
            aliases: HashMap::new(),
            by_name: HashMap::new(),
            blocks: VecDeque::new(),
            next_seq: 0,
            rows: 0,
            last_ts: None,
            scraped_prev: Vec::new(),
            sealed_bytes: 0,
            label_pairs: 0,
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
            let chunks = self.blocks.back().map_or(0, |b| b.chunks.len());
            if let Some(head) = self.blocks.back_mut() {
                head.seal();
                self.sealed_bytes += head.bytes();
            }
            self.blocks.push_back(Block {
                seq: self.next_seq,
                times: TimeEncoder::default(),
                // Most series of the last block go on into this one.
                chunks: Vec::with_capacity(chunks),
                packed: None,
                slots: Vec::new(),
                samples: 0,
                trimmed: false,
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
        if stats.series_created == 0 {
            self.trim();
        }
        self.shrink_if_full();
        Ok(stats)
    }

    /// A block with its last row written gets no more rows: its buffers
    /// are trimmed now rather than when the next block opens. (Samples
    /// appended at that same last timestamp may still grow a chunk a bit.)
    fn shrink_if_full(&mut self) {
        if let Some(head) = self.blocks.back_mut() {
            if head.times.len() >= BLOCK_ROWS && !head.trimmed {
                head.shrink();
                head.trimmed = true;
            }
        }
    }

    /// Once the set of series has settled, gives back what the tables
    /// reserved for growth.
    fn trim(&mut self) {
        fn loose<T>(v: &Vec<T>) -> bool {
            v.capacity() > v.len() + v.len() / 8 + 16
        }
        if loose(&self.series) {
            self.series.shrink_to_fit();
        }
        if let Some(head) = self.blocks.back_mut() {
            if loose(&head.slots) {
                head.slots.shrink_to_fit();
            }
        }
        for ids in self.by_name.values_mut() {
            if loose(ids) {
                ids.shrink_to_fit();
            }
        }
    }

    /// A failed scrape at `ts`: every series of the last scrape goes stale.
    pub(crate) fn mark_down(&mut self, ts: i64) -> Result<usize, StoreError> {
        self.begin_row(ts)?;
        let row = self.rows;
        let prev = std::mem::take(&mut self.scraped_prev);
        let marked = prev
            .iter()
            .filter(|&&id| self.write(id, f64::from_bits(STALE_NAN_BITS), row))
            .count();
        self.shrink_if_full();
        Ok(marked)
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
        for id in self.by_hash.candidates(hash, &self.series) {
            if let Some(Some(meta)) = self.series.get(id as usize) {
                if self.same_series(meta, name, labels.clone()) {
                    return id;
                }
            }
        }
        let built = self.build_labels(name, labels);
        let key = self.name_key(&built);
        // Same labels in another order (or a hash collision): find by value.
        let existing = self.by_name.get(&key).and_then(|ids| {
            ids.iter().copied().find(
                |&id| matches!(self.series.get(id as usize), Some(Some(m)) if m.labels == built),
            )
        });
        let id = match existing {
            Some(id) => {
                for &(k, v) in built.iter() {
                    self.symbols.release(k);
                    self.symbols.release(v);
                }
                self.aliases.entry(id).or_default().push(hash);
                self.by_hash.insert_more(hash, id);
                id
            }
            None => {
                self.label_pairs += built.len();
                let meta = SeriesMeta {
                    labels: built,
                    hash,
                    last_seq: u32::MAX,
                    written_row: 0,
                };
                let id = match self.free_ids.pop() {
                    Some(id) => {
                        if let Some(slot) = self.series.get_mut(id as usize) {
                            *slot = Some(meta);
                        }
                        id
                    }
                    None => {
                        self.series.push(Some(meta));
                        (self.series.len() - 1) as SeriesId
                    }
                };
                self.by_name.entry(key).or_default().push(id);
                self.by_hash.insert_first(id, &self.series);
                self.live_series += 1;
                stats.series_created += 1;
                id
            }
        };
        id
    }

    /// The series' own labels as symbols (one use each taken), sorted by
    /// name; empty values dropped, the first of duplicate names kept.
    fn build_labels<L, K, V>(&mut self, name: &str, labels: L) -> Box<[(Sym, Sym)]>
    where
        L: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let (symbols, interner) = (&mut self.symbols, &*self.interner);
        let mut pairs: Vec<(Sym, Sym)> = Vec::with_capacity(8);
        if !name.is_empty() {
            pairs.push((
                symbols.acquire(METRIC_NAME, interner),
                symbols.acquire(name, interner),
            ));
        }
        for (k, v) in labels {
            let v = v.as_ref();
            if v.is_empty() {
                continue;
            }
            let k = stored_name(&self.target_labels, k.as_ref());
            pairs.push((symbols.acquire(&k, interner), symbols.acquire(v, interner)));
        }
        // Stable: among equal names the first stays first.
        pairs.sort_by(|a, b| symbols.text(a.0).cmp(symbols.text(b.0)));
        let mut out: Vec<(Sym, Sym)> = Vec::with_capacity(pairs.len());
        for (k, v) in pairs {
            if out.last().is_some_and(|&(pk, _)| pk == k) {
                symbols.release(k);
                symbols.release(v);
            } else {
                out.push((k, v));
            }
        }
        out.into_boxed_slice()
    }

    /// The symbol of the `__name__` value in `labels`, or [`NO_NAME`].
    fn name_key(&self, labels: &[(Sym, Sym)]) -> Sym {
        self.own_label(labels, METRIC_NAME)
            .map_or(NO_NAME, |(_, v)| v)
    }

    /// The `(name, value)` symbols of label `name` among `labels`.
    fn own_label(&self, labels: &[(Sym, Sym)], name: &str) -> Option<(Sym, Sym)> {
        labels
            .binary_search_by(|&(k, _)| self.symbols.text(k).cmp(name))
            .ok()
            .and_then(|i| labels.get(i))
            .copied()
    }

    fn same_series<L, K, V>(&self, stored: &SeriesMeta, name: &str, labels: L) -> bool
    where
        L: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let text = |p: Option<(Sym, Sym)>| p.map(|(_, v)| self.symbols.text(v));
        if text(self.own_label(&stored.labels, METRIC_NAME)) != Some(name) {
            return false;
        }
        let mut n = 1;
        for (k, v) in labels {
            let v = v.as_ref();
            if v.is_empty() {
                continue;
            }
            n += 1;
            let k = stored_name(&self.target_labels, k.as_ref());
            if text(self.own_label(&stored.labels, &k)) != Some(v) {
                return false;
            }
        }
        n == stored.labels.len()
    }

    /// Appends `v` to series `id` in the open row; false if it already has one.
    fn write(&mut self, id: SeriesId, v: f64, row: u64) -> bool {
        let has_chunk = self
            .blocks
            .back()
            .and_then(|h| h.slots.get(id as usize))
            .is_some_and(|&s| s != NO_CHUNK);
        // A new chunk starts at the size of the series' previous one.
        let words = if has_chunk {
            0
        } else {
            self.blocks
                .len()
                .checked_sub(2)
                .and_then(|i| self.blocks.get(i))
                .map_or(0, |b| b.code_words(id))
        };
        let (Some(Some(meta)), Some(head)) =
            (self.series.get_mut(id as usize), self.blocks.back_mut())
        else {
            return false;
        };
        if meta.written_row == row as u32 {
            return false;
        }
        let pos = (head.times.len() as u32).saturating_sub(1);
        let slot = match head.slots.get(id as usize) {
            Some(&slot) if slot != NO_CHUNK => slot,
            _ => {
                let mut enc = ValueEncoder::default();
                enc.reserve_words(words);
                head.chunks.push(ValueChunk {
                    series: id,
                    start: pos,
                    enc,
                });
                let slot = (head.chunks.len() - 1) as u32;
                if head.slots.len() <= id as usize {
                    head.slots.resize(id as usize + 1, NO_CHUNK);
                }
                if let Some(s) = head.slots.get_mut(id as usize) {
                    *s = slot;
                }
                meta.last_seq = head.seq as u32;
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
        meta.written_row = row as u32;
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
        for id in block.series_ids() {
            let gone = matches!(
                self.series.get(id as usize),
                Some(Some(meta)) if meta.last_seq == block.seq as u32
            );
            if gone {
                self.forget(id);
            }
        }
        let series = &self.series;
        self.scraped_prev
            .retain(|&id| matches!(series.get(id as usize), Some(Some(_))));
        true
    }

    /// Removes series `id` from the index and releases its strings; the id
    /// is reused. Only called once no block holds a chunk of it.
    fn forget(&mut self, id: SeriesId) {
        let Some(meta) = self.series.get_mut(id as usize).and_then(Option::take) else {
            return;
        };
        self.live_series -= 1;
        self.label_pairs = self.label_pairs.saturating_sub(meta.labels.len());
        self.by_hash.remove_first(meta.hash, id);
        for h in self.aliases.remove(&id).unwrap_or_default() {
            self.by_hash.remove_more(h, id);
        }
        let key = self.name_key(&meta.labels);
        if let Some(ids) = self.by_name.get_mut(&key) {
            ids.retain(|&x| x != id);
            if ids.is_empty() {
                self.by_name.remove(&key);
            }
        }
        for &(k, v) in meta.labels.iter() {
            self.symbols.release(k);
            self.symbols.release(v);
        }
        self.free_ids.push(id);
    }

    pub(crate) fn chunk_bytes(&self) -> usize {
        self.sealed_bytes + self.blocks.back().map_or(0, Block::bytes)
    }

    /// Estimated bytes of everything but the compressed data: series
    /// table, label symbols, lookups, per-block chunk slots. Interned text
    /// is counted once for the store, by the interner.
    pub(crate) fn index_bytes(&self) -> usize {
        self.series.capacity() * size_of::<Option<SeriesMeta>>()
            + self.label_pairs * size_of::<(Sym, Sym)>()
            + self.free_ids.capacity() * size_of::<SeriesId>()
            + self.by_hash.bytes()
            + self
                .aliases
                .values()
                .map(|v| size_of::<(SeriesId, Vec<u64>)>() + v.capacity() * 8)
                .sum::<usize>()
            + self.by_name.capacity() * (size_of::<(Sym, Vec<SeriesId>)>() + 1)
            + self
                .by_name
                .values()
                .map(|v| v.capacity() * size_of::<SeriesId>())
                .sum::<usize>()
            + self.symbols.bytes()
            + self.scraped_prev.capacity() * size_of::<SeriesId>()
            + self
                .blocks
                .iter()
                .enumerate()
                .map(|(i, b)| b.overhead_bytes(i + 1 == self.blocks.len()))
                .sum::<usize>()
            + self.target_labels.capacity() * size_of::<(Arc<str>, Arc<str>)>()
    }

    pub(crate) fn samples(&self) -> u64 {
        self.samples
    }

    pub(crate) fn live_series(&self) -> usize {
        self.live_series
    }

    /// Series whose labels satisfy every matcher.
    fn matching(&self, matchers: &[Matcher]) -> Vec<SeriesId> {
        let name_terms: Vec<&Matcher> = matchers
            .iter()
            .filter(|m| m.name == METRIC_NAME && !m.is_noop())
            .collect();
        let name_eq = name_terms.iter().find(|m| matches!(m.op, MatchOp::Equal));
        let mut candidates: Vec<SeriesId> = Vec::new();
        match name_eq {
            Some(m) => {
                let key = if m.value.is_empty() {
                    Some(NO_NAME)
                } else {
                    self.symbols.find(&m.value)
                };
                if name_terms.iter().all(|t| t.matches(&m.value)) {
                    if let Some(ids) = key.and_then(|k| self.by_name.get(&k)) {
                        candidates.extend_from_slice(ids);
                    }
                }
            }
            None => {
                for (&n, ids) in &self.by_name {
                    let text = self.symbols.text(n);
                    if name_terms.iter().all(|m| m.matches(text)) {
                        candidates.extend_from_slice(ids);
                    }
                }
            }
        }
        let mut rest: Vec<(&Matcher, Lookup<'_>)> = Vec::new();
        for m in matchers
            .iter()
            .filter(|m| m.name != METRIC_NAME && !m.is_noop())
        {
            match self.target_labels.iter().find(|(k, _)| **k == *m.name) {
                // Decided once for the whole target.
                Some((_, v)) if !m.matches(v) => return Vec::new(),
                Some((_, v)) => rest.push((m, Lookup::Fixed(v))),
                None => rest.push((m, Lookup::Own(self.symbols.find(&m.name)))),
            }
        }
        rest.retain(|(_, l)| !matches!(l, Lookup::Fixed(_)));
        if rest.is_empty() {
            return candidates;
        }
        candidates.retain(|&id| match self.series.get(id as usize) {
            Some(Some(meta)) => rest.iter().all(|(m, lookup)| {
                let value = match *lookup {
                    Lookup::Fixed(v) => v,
                    Lookup::Own(Some(sym)) => meta
                        .labels
                        .iter()
                        .find(|&&(k, _)| k == sym)
                        .map_or("", |&(_, v)| self.symbols.text(v)),
                    Lookup::Own(None) => "",
                };
                m.matches(value)
            }),
            _ => false,
        });
        candidates
    }

    /// The full label set of a series: its own labels and the target's.
    fn labels_of(&self, meta: &SeriesMeta) -> Labels {
        let mut pairs: Vec<(Arc<str>, Arc<str>)> =
            Vec::with_capacity(meta.labels.len() + self.target_labels.len());
        for &(k, v) in meta.labels.iter() {
            if let (Some(k), Some(v)) = (self.symbols.shared(k), self.symbols.shared(v)) {
                pairs.push((k.clone(), v.clone()));
            }
        }
        pairs.extend(self.target_labels.iter().cloned());
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        pairs.dedup_by(|b, a| a.0 == b.0);
        Labels::from_sorted_shared(pairs)
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
        let mut times: Vec<Option<Vec<i64>>> = vec![None; self.blocks.len()];
        for id in ids {
            let Some(Some(meta)) = self.series.get(id as usize) else {
                continue;
            };
            let mut samples = Vec::new();
            for (bi, block) in self.blocks.iter().enumerate() {
                if block.max_t() < mint || block.min_t() > maxt {
                    continue;
                }
                let Some((start, values)) = block.values_of(id) else {
                    continue;
                };
                let Some(ts) = times.get_mut(bi) else {
                    continue;
                };
                let ts = ts.get_or_insert_with(|| block.times.decode());
                let rows = ts.get(start..).unwrap_or(&[]);
                for (&t, v) in rows.iter().zip(values) {
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
                labels: Arc::new(self.labels_of(meta)),
                samples,
            });
        }
        Ok(())
    }

    /// Calls `f` with every label name of a live series.
    pub(crate) fn for_each_label_name(&self, mut f: impl FnMut(&str)) {
        if self.live_series == 0 {
            return;
        }
        for (k, _) in &self.target_labels {
            f(k);
        }
        let mut seen = std::collections::HashSet::new();
        for meta in self.series.iter().flatten() {
            for &(k, _) in meta.labels.iter() {
                if seen.insert(k) {
                    f(self.symbols.text(k));
                }
            }
        }
    }

    /// Calls `f` with each value of label `name` among live series
    /// matching `matchers`.
    pub(crate) fn for_each_label_value(
        &self,
        name: &str,
        matchers: &[Matcher],
        mut f: impl FnMut(&str),
    ) {
        let ids = self.matching(matchers);
        if ids.is_empty() {
            return;
        }
        if let Some((_, v)) = self.target_labels.iter().find(|(k, _)| **k == *name) {
            f(v);
            return;
        }
        let Some(sym) = self.symbols.find(name) else {
            return;
        };
        let mut seen = std::collections::HashSet::new();
        for id in ids {
            if let Some(Some(meta)) = self.series.get(id as usize) {
                if let Some(&(_, v)) = meta.labels.iter().find(|&&(k, _)| k == sym) {
                    if seen.insert(v) {
                        f(self.symbols.text(v));
                    }
                }
            }
        }
    }

    pub(crate) fn metric_names(&self) -> impl Iterator<Item = &str> {
        self.by_name
            .keys()
            .filter(|&&k| k != NO_NAME)
            .map(|&k| self.symbols.text(k))
    }
}
