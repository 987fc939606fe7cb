//! MSB-first bit buffer shared by the timestamp and value codecs.
//!
//! The last word doubles as the partially filled one, so readers can decode
//! an open chunk while the writer keeps appending (under the target lock).

/// An append-only sequence of bits.
///
/// The words live in one exactly sized allocation (no separate capacity
/// field): it grows by an eighth when full, or to a size announced with
/// [`BitBuf::reserve_words`], and [`BitBuf::shrink`] trims it.
#[derive(Clone, Debug, Default)]
pub(crate) struct BitBuf {
    /// Allocated words: the first [`BitBuf::used`] hold the bits, the
    /// rest are zero.
    words: Box<[u64]>,
    /// Bits written.
    len: u32,
}

impl BitBuf {
    /// Appends the low `n` bits of `bits` (`n` ≤ 64), most significant first.
    #[inline]
    pub(crate) fn write(&mut self, bits: u64, n: u32) {
        if n == 0 {
            return;
        }
        let Some(end) = self.len.checked_add(n) else {
            return;
        };
        let bits = if n == 64 {
            bits
        } else {
            bits & ((1u64 << n) - 1)
        };
        let need = end.div_ceil(64) as usize;
        if need > self.words.len() {
            let grown = self.words.len() + self.words.len() / 8 + 1;
            self.resize(need.max(grown));
        }
        let idx = (self.len / 64) as usize;
        let free = 64 - self.len % 64;
        if n <= free {
            if let Some(w) = self.words.get_mut(idx) {
                *w |= bits << (free - n);
            }
        } else {
            if let Some(w) = self.words.get_mut(idx) {
                *w |= bits >> (n - free);
            }
            if let Some(w) = self.words.get_mut(idx + 1) {
                *w = bits << (64 - (n - free));
            }
        }
        self.len = end;
    }

    #[inline]
    pub(crate) fn write_bit(&mut self, bit: bool) {
        self.write(bit as u64, 1);
    }

    /// Words holding written bits.
    fn used(&self) -> usize {
        self.len.div_ceil(64) as usize
    }

    fn resize(&mut self, words: usize) {
        let mut v = Vec::with_capacity(words);
        v.extend_from_slice(self.words.get(..self.used()).unwrap_or(&[]));
        v.resize(words, 0);
        self.words = v.into_boxed_slice();
    }

    /// Makes room for `words` words in all, when fewer are allocated.
    pub(crate) fn reserve_words(&mut self, words: usize) {
        if words > self.words.len() {
            self.resize(words);
        }
    }

    /// The words holding written bits.
    pub(crate) fn words(&self) -> &[u64] {
        self.words.get(..self.used()).unwrap_or(&[])
    }

    /// Bits written.
    pub(crate) fn bit_len(&self) -> u32 {
        self.len
    }

    pub(crate) fn reader(&self) -> BitReader<'_> {
        BitReader {
            words: self.words.get(..self.used()).unwrap_or(&[]),
            pos: 0,
            len: self.len as usize,
        }
    }

    /// Bytes of encoded data (whole words).
    pub(crate) fn bytes(&self) -> usize {
        self.used() * 8
    }

    /// Bytes allocated beyond [`BitBuf::bytes`] (0 after [`BitBuf::shrink`]).
    pub(crate) fn slack(&self) -> usize {
        (self.words.len() - self.used()) * 8
    }

    pub(crate) fn shrink(&mut self) {
        if self.words.len() > self.used() {
            self.resize(self.used());
        }
    }
}

/// Reads a [`BitBuf`]. Reading past the end yields zero bits and sets
/// [`BitReader::overrun`] instead of panicking.
#[derive(Clone, Debug)]
pub(crate) struct BitReader<'a> {
    words: &'a [u64],
    pos: usize,
    len: usize,
}

impl<'a> BitReader<'a> {
    /// Reads the first `len` bits of `words` (bits beyond read as zero,
    /// with [`BitReader::overrun`] set).
    pub(crate) fn new(words: &'a [u64], len: usize) -> BitReader<'a> {
        BitReader { words, pos: 0, len }
    }

    /// Reads `n` bits (`n` ≤ 64) as the low bits of the result.
    #[inline]
    pub(crate) fn read(&mut self, n: u32) -> u64 {
        if n == 0 {
            return 0;
        }
        let idx = self.pos / 64;
        let off = (self.pos % 64) as u32;
        self.pos += n as usize;
        let first = self.words.get(idx).copied().unwrap_or(0) << off;
        let avail = 64 - off;
        if n <= avail {
            first >> (64 - n)
        } else {
            let second = self.words.get(idx + 1).copied().unwrap_or(0);
            // `first` holds `avail` bits at the top; the rest come from `second`.
            (first >> (64 - n)) | (second >> (64 - (n - avail)))
        }
    }

    #[inline]
    pub(crate) fn read_bit(&mut self) -> bool {
        self.read(1) == 1
    }

    /// True once a read went beyond the written bits (corrupt or truncated data).
    pub(crate) fn overrun(&self) -> bool {
        self.pos > self.len
    }
}

/// Maps signed integers to unsigned so that small magnitudes get few bits.
#[inline]
pub(crate) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

#[inline]
pub(crate) fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_mixed_widths() {
        let mut b = BitBuf::default();
        let items: Vec<(u64, u32)> = (0..500u64)
            .map(|i| {
                let n = (i % 64 + 1) as u32;
                let v = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
                (if n == 64 { v } else { v & ((1 << n) - 1) }, n)
            })
            .collect();
        for &(v, n) in &items {
            b.write(v, n);
        }
        let mut r = b.reader();
        for &(v, n) in &items {
            assert_eq!(r.read(n), v, "width {n}");
        }
        assert!(!r.overrun());
        r.read(64);
        assert!(r.overrun());
    }

    #[test]
    fn exact_allocation_after_shrink_and_reserve() {
        let mut b = BitBuf::default();
        b.reserve_words(3);
        assert_eq!((b.bytes(), b.slack()), (0, 24));
        for i in 0..100u64 {
            b.write(i, 7);
        }
        assert_eq!(b.bytes(), 700usize.div_ceil(64) * 8);
        b.shrink();
        assert_eq!(b.slack(), 0);
        let mut r = b.reader();
        for i in 0..100u64 {
            assert_eq!(r.read(7), i);
        }
        // Writing after a shrink grows again and keeps the bits.
        b.write(1, 1);
        let mut r = b.reader();
        assert_eq!(r.read(7), 0);
        assert_eq!(r.read(7), 1);
    }

    #[test]
    fn zigzag_round_trips() {
        for v in [0, 1, -1, 63, -64, i64::MAX, i64::MIN] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
        assert_eq!(zigzag(-1), 1);
        assert_eq!(zigzag(1), 2);
    }
}
