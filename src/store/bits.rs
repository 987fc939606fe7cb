//! MSB-first bit buffer shared by the timestamp and value codecs.
//!
//! The last word doubles as the partially filled one, so readers can decode
//! an open chunk while the writer keeps appending (under the target lock).

/// An append-only sequence of bits.
#[derive(Clone, Debug, Default)]
pub(crate) struct BitBuf {
    words: Vec<u64>,
    len: usize,
}

impl BitBuf {
    /// Appends the low `n` bits of `bits` (`n` ≤ 64), most significant first.
    #[inline]
    pub(crate) fn write(&mut self, bits: u64, n: u32) {
        if n == 0 {
            return;
        }
        let bits = if n == 64 {
            bits
        } else {
            bits & ((1u64 << n) - 1)
        };
        let used = (self.len % 64) as u32;
        if used == 0 {
            self.words.push(0);
        }
        let free = 64 - used;
        if let Some(last) = self.words.last_mut() {
            if n <= free {
                *last |= bits << (free - n);
            } else {
                *last |= bits >> (n - free);
                self.words.push(bits << (64 - (n - free)));
            }
        }
        self.len += n as usize;
    }

    #[inline]
    pub(crate) fn write_bit(&mut self, bit: bool) {
        self.write(bit as u64, 1);
    }

    pub(crate) fn reader(&self) -> BitReader<'_> {
        BitReader {
            words: &self.words,
            pos: 0,
            len: self.len,
        }
    }

    /// Bytes of encoded data (whole words, as held in memory).
    pub(crate) fn bytes(&self) -> usize {
        self.words.len() * 8
    }

    pub(crate) fn shrink(&mut self) {
        self.words.shrink_to_fit();
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

impl BitReader<'_> {
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
    fn zigzag_round_trips() {
        for v in [0, 1, -1, 63, -64, i64::MAX, i64::MIN] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
        assert_eq!(zigzag(-1), 1);
        assert_eq!(zigzag(1), 2);
    }
}
