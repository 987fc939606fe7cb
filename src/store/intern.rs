//! String interning for label names and values.
//!
//! Two levels:
//! - [`Interner`], one per store, shared by every target: each distinct
//!   string is held once as an `Arc<str>`, so `job`, `model_name`, bucket
//!   bounds or a metric name scraped from 1000 targets cost one copy.
//!   It is split into shards, each behind its own mutex, and a target only
//!   goes there for a string it does not hold yet (a new series with a new
//!   name or value), so the scrape loops' steady state never takes a lock.
//! - [`Symbols`], one per target: small local ids (`u32`) for the strings
//!   its series use, with a reference count each. A series stores its labels
//!   as sorted pairs of these ids, 8 bytes a label.
//!
//! Freeing: when a target forgets its last series using a string, the local
//! id is released (and reused) and the target drops its `Arc`. The interner
//! then holds the only reference; a shard sweeps such strings out whenever
//! it has doubled since its last sweep (amortised O(1) per insertion), and
//! the store sweeps every shard after evicting blocks once a quarter more
//! strings are held than after the last such sweep. So strings no series
//! uses any more are freed, and the interner never holds more than about
//! twice the live strings (plus a floor of 256 per shard).
//! A target that invents new label values every scrape (request ids, say)
//! thus costs what its series cost: they live until retention or the memory
//! budget drops their blocks, and their strings go with them.

use hashbrown::HashTable;
use std::collections::hash_map::{DefaultHasher, RandomState};
use std::collections::HashSet;
use std::hash::{BuildHasher, Hash, Hasher};
use std::mem::size_of;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

const SHARDS: usize = 16;
/// A shard below this many strings is never swept.
const SWEEP_FLOOR: usize = 256;

#[derive(Default)]
struct Shard {
    set: HashSet<Arc<str>>,
    /// Bytes of text held.
    text: usize,
    /// Strings left after the last sweep.
    after_sweep: usize,
    /// [`Shard::bytes`] as last added to [`Interner::bytes`].
    counted: usize,
}

impl Shard {
    fn sweep(&mut self) {
        let mut freed = 0;
        self.set.retain(|s| {
            let keep = Arc::strong_count(s) > 1;
            if !keep {
                freed += s.len();
            }
            keep
        });
        self.text -= freed;
        self.after_sweep = self.set.len();
    }

    fn bytes(&self) -> usize {
        // Table slots (a fat pointer and a control byte each) plus each
        // string's allocation: two reference counts and the text.
        self.set.capacity() * (size_of::<Arc<str>>() + 1)
            + self.set.len() * 2 * size_of::<usize>()
            + self.text
    }
}

/// The store-wide string table.
pub(crate) struct Interner {
    shards: Vec<Mutex<Shard>>,
    /// Sum of the shards' bytes, readable without their locks.
    bytes: AtomicUsize,
    /// Strings held, likewise.
    strings: AtomicUsize,
    /// Strings left after the last full sweep.
    after_sweep: AtomicUsize,
}

impl Default for Interner {
    fn default() -> Self {
        Interner {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            bytes: AtomicUsize::new(0),
            strings: AtomicUsize::new(0),
            after_sweep: AtomicUsize::new(0),
        }
    }
}

impl Interner {
    /// Brings [`Interner::bytes`] up to date with a changed shard.
    fn recount(&self, shard: &mut Shard, strings_before: usize) {
        let len = shard.set.len();
        if len >= strings_before {
            self.strings
                .fetch_add(len - strings_before, Ordering::Relaxed);
        } else {
            self.strings
                .fetch_sub(strings_before - len, Ordering::Relaxed);
        }
        let now = shard.bytes();
        if now >= shard.counted {
            self.bytes.fetch_add(now - shard.counted, Ordering::Relaxed);
        } else {
            self.bytes.fetch_sub(shard.counted - now, Ordering::Relaxed);
        }
        shard.counted = now;
    }

    fn shard(&self, s: &str) -> Option<&Mutex<Shard>> {
        let mut h = DefaultHasher::new();
        s.hash(&mut h);
        self.shards.get(h.finish() as usize % SHARDS)
    }

    /// The shared copy of `s`.
    pub(crate) fn intern(&self, s: &str) -> Arc<str> {
        let Some(shard) = self.shard(s) else {
            return Arc::from(s);
        };
        let mut g = shard.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(a) = g.set.get(s) {
            return a.clone();
        }
        let before = g.set.len();
        if before >= SWEEP_FLOOR.max(2 * g.after_sweep) {
            g.sweep();
        }
        let a: Arc<str> = Arc::from(s);
        g.text += s.len();
        g.set.insert(a.clone());
        self.recount(&mut g, before);
        a
    }

    /// Frees every string no one else holds now.
    pub(crate) fn sweep(&self) {
        for s in &self.shards {
            let mut g = s.lock().unwrap_or_else(PoisonError::into_inner);
            let before = g.set.len();
            g.sweep();
            self.recount(&mut g, before);
        }
        self.after_sweep.store(self.len(), Ordering::Relaxed);
    }

    /// [`Interner::sweep`] if a quarter more strings are held than after
    /// the last one: cheap enough to call after every eviction.
    pub(crate) fn sweep_if_grown(&self) {
        let after = self.after_sweep.load(Ordering::Relaxed);
        if self.len() > after + after / 4 + SWEEP_FLOOR {
            self.sweep();
        }
    }

    /// Strings held (including unused ones not swept yet).
    pub(crate) fn len(&self) -> usize {
        self.strings.load(Ordering::Relaxed)
    }

    /// Approximate heap bytes: tables and text.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }
}

/// A local id of a [`Symbols`] table.
pub(crate) type Sym = u32;

/// One target's strings: local ids with reference counts.
#[derive(Default)]
pub(crate) struct Symbols {
    /// By id: the string, `None` when the id is free.
    strings: Vec<Option<Arc<str>>>,
    /// By id: how many uses it has.
    refs: Vec<u32>,
    /// The ids in use, hashed by their text (kept in `strings`).
    ids: HashTable<Sym>,
    state: RandomState,
    free: Vec<Sym>,
}

fn text_of(strings: &[Option<Arc<str>>], id: Sym) -> &str {
    match strings.get(id as usize) {
        Some(Some(s)) => s,
        _ => "",
    }
}

impl Symbols {
    /// The id of `s`, if this target holds it.
    pub(crate) fn find(&self, s: &str) -> Option<Sym> {
        let strings = &self.strings;
        self.ids
            .find(self.state.hash_one(s), |&id| text_of(strings, id) == s)
            .copied()
    }

    /// The string of `id` (`""` for an unknown id).
    pub(crate) fn text(&self, id: Sym) -> &str {
        text_of(&self.strings, id)
    }

    /// The shared string of `id`.
    pub(crate) fn shared(&self, id: Sym) -> Option<&Arc<str>> {
        self.strings.get(id as usize).and_then(Option::as_ref)
    }

    /// One more use of `s`: its id, taken from `interner` when new here.
    pub(crate) fn acquire(&mut self, s: &str, interner: &Interner) -> Sym {
        if let Some(id) = self.find(s) {
            if let Some(r) = self.refs.get_mut(id as usize) {
                *r = r.saturating_add(1);
            }
            return id;
        }
        let shared = interner.intern(s);
        let id = match self.free.pop() {
            Some(id) => {
                if let Some(slot) = self.strings.get_mut(id as usize) {
                    *slot = Some(shared);
                }
                if let Some(r) = self.refs.get_mut(id as usize) {
                    *r = 1;
                }
                id
            }
            None => {
                self.strings.push(Some(shared));
                self.refs.push(1);
                (self.strings.len() - 1) as Sym
            }
        };
        let (strings, state) = (&self.strings, &self.state);
        self.ids.insert_unique(state.hash_one(s), id, |&x| {
            state.hash_one(text_of(strings, x))
        });
        id
    }

    /// One use less of `id`; the last one frees it.
    pub(crate) fn release(&mut self, id: Sym) {
        let Some(r) = self.refs.get_mut(id as usize) else {
            return;
        };
        if *r == 0 {
            return;
        }
        *r -= 1;
        if *r > 0 {
            return;
        }
        let h = self.state.hash_one(self.text(id));
        if let Ok(entry) = self.ids.find_entry(h, |&x| x == id) {
            entry.remove();
        }
        if let Some(slot) = self.strings.get_mut(id as usize) {
            *slot = None;
        }
        self.free.push(id);
    }

    /// Ids in use.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }

    /// Approximate heap bytes of the table (the text is the interner's).
    pub(crate) fn bytes(&self) -> usize {
        self.strings.capacity() * size_of::<Option<Arc<str>>>()
            + self.refs.capacity() * size_of::<u32>()
            + self.ids.allocation_size()
            + self.free.capacity() * size_of::<Sym>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_copy_across_tables() {
        let interner = Interner::default();
        let (mut a, mut b) = (Symbols::default(), Symbols::default());
        let x = a.acquire("model_name", &interner);
        let y = b.acquire("model_name", &interner);
        let (sa, sb) = (a.shared(x).cloned(), b.shared(y).cloned());
        assert!(matches!((&sa, &sb), (Some(p), Some(q)) if Arc::ptr_eq(p, q)));
        assert_eq!(interner.len(), 1);
        assert_eq!(a.text(x), "model_name");
        assert_eq!(a.text(x + 7), "");
    }

    #[test]
    fn counted_uses_free_and_reuse_ids() {
        let interner = Interner::default();
        let mut t = Symbols::default();
        let id = t.acquire("v1", &interner);
        assert_eq!(t.acquire("v1", &interner), id);
        t.release(id);
        assert_eq!(t.find("v1"), Some(id));
        t.release(id);
        assert_eq!(t.find("v1"), None);
        assert_eq!(t.len(), 0);
        // The freed id is reused for the next new string.
        assert_eq!(t.acquire("v2", &interner), id);
        assert_eq!(t.text(id), "v2");
        // Releasing more than acquired, or an unknown id, is harmless.
        t.release(id);
        t.release(id);
        t.release(999);
    }

    #[test]
    fn unused_strings_are_swept() {
        let interner = Interner::default();
        let mut t = Symbols::default();
        let keep = t.acquire("kept", &interner);
        let gone = t.acquire("gone", &interner);
        t.release(gone);
        assert_eq!(interner.len(), 2);
        interner.sweep_if_grown();
        assert_eq!(interner.len(), 2, "below the floor");
        interner.sweep();
        assert_eq!(interner.len(), 1);
        assert_eq!(t.text(keep), "kept");
    }

    #[test]
    fn churning_values_stay_bounded() {
        // A target inventing a value per scrape that is forgotten later:
        // the interner holds at most about twice the live strings.
        let interner = Interner::default();
        let mut t = Symbols::default();
        let mut live = std::collections::VecDeque::new();
        let mut peak = 0;
        for i in 0..100_000 {
            live.push_back(t.acquire(&format!("req-{i}"), &interner));
            if live.len() > 100 {
                if let Some(id) = live.pop_front() {
                    t.release(id);
                }
            }
            peak = peak.max(interner.len());
        }
        assert_eq!(t.len(), 100);
        assert!(peak <= SHARDS * SWEEP_FLOOR + 2 * 100, "{peak}");
        // Local ids are reused: the table stays at the live size.
        assert!(t.strings.len() <= 102, "{}", t.strings.len());
    }
}
