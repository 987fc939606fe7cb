//! Value compression: Gorilla's XOR scheme plus an integer shortcut.
//!
//! Most of a vLLM scrape is integer-valued (counters, bucket counts) and
//! grows at a roughly steady rate, so consecutive integers are coded as the
//! change of their delta (delta-of-delta, like timestamps), which needs 4–9
//! bits where an XOR needs 15–26. Everything else is Gorilla XOR.
//!
//! Codes per value after the first (64 raw bits):
//! - `0`: same bits as the previous value;
//! - `10`/`110`/`1110`/`11110`/`111110` + 4/6/9/14/32 bits: both values are
//!   exact integers; zigzag of `(cur - prev) - previous delta`;
//! - `111111` + `0` + meaningful bits: XOR inside the previous window of
//!   leading/trailing zeros;
//! - `111111` + `1` + 5-bit leading zeros + 6-bit length + bits: new window.

use super::bits::{unzigzag, zigzag, BitBuf, BitReader};

/// `(prefix, prefix bits, payload bits)` of the integer classes.
const INT_CLASSES: [(u64, u32, u32); 5] = [
    (0b10, 2, 4),
    (0b110, 3, 6),
    (0b1110, 4, 9),
    (0b11110, 5, 14),
    (0b111110, 6, 32),
];
const XOR_PREFIX: (u64, u32) = (0b111111, 6);
/// Integers up to 2^53 convert between `f64` and `i64` exactly.
const MAX_EXACT_INT: f64 = 9_007_199_254_740_992.0;

/// The integer an `f64` holds exactly, if any (`-0.0` excluded: it would
/// come back as `+0.0`).
#[inline]
fn exact_int(bits: u64) -> Option<i64> {
    let v = f64::from_bits(bits);
    if v.fract() == 0.0 && v.abs() <= MAX_EXACT_INT && bits != (-0.0f64).to_bits() {
        Some(v as i64)
    } else {
        None
    }
}

#[derive(Clone, Debug, Default)]
pub(crate) struct ValueEncoder {
    bits: BitBuf,
    prev: u64,
    /// Last integer delta (0 after a repeat or a float).
    delta: i64,
    count: u32,
    lead: u8,
    trail: u8,
    has_window: bool,
}

impl ValueEncoder {
    pub(crate) fn push(&mut self, v: f64) {
        let cur = v.to_bits();
        if self.count == 0 {
            self.bits.write(cur, 64);
            self.delta = 0;
        } else if cur == self.prev {
            self.bits.write_bit(false);
            self.delta = 0;
        } else if let Some((d, zz, class)) = self.int_code(cur) {
            let (prefix, plen, width) = INT_CLASSES[class];
            self.bits.write(prefix, plen);
            self.bits.write(zz, width);
            self.delta = d;
        } else {
            self.bits.write(XOR_PREFIX.0, XOR_PREFIX.1);
            self.write_xor(cur ^ self.prev);
            self.delta = 0;
        }
        self.prev = cur;
        self.count += 1;
    }

    /// `(delta, zigzag residual, class)` when both values are integers
    /// and the residual fits a class.
    fn int_code(&self, cur: u64) -> Option<(i64, u64, usize)> {
        let (p, c) = (exact_int(self.prev)?, exact_int(cur)?);
        let d = c.checked_sub(p)?;
        let zz = zigzag(d.checked_sub(self.delta)?);
        let class = INT_CLASSES
            .iter()
            .position(|&(_, _, w)| w == 64 || zz < (1u64 << w))?;
        Some((d, zz, class))
    }

    fn write_xor(&mut self, xor: u64) {
        let lead = xor.leading_zeros().min(31);
        let trail = xor.trailing_zeros();
        let (wl, wt) = (self.lead as u32, self.trail as u32);
        if self.has_window && lead >= wl && trail >= wt {
            self.bits.write_bit(false);
            self.bits.write(xor >> wt, 64 - wl - wt);
        } else {
            let sig = 64 - lead - trail;
            self.bits.write_bit(true);
            self.bits.write(lead as u64, 5);
            // A 64-bit window is written as 0: six bits hold 0..=63.
            self.bits.write((sig & 63) as u64, 6);
            self.bits.write(xor >> trail, sig);
            // Both at most 64.
            self.lead = lead as u8;
            self.trail = trail as u8;
            self.has_window = true;
        }
    }

    pub(crate) fn len(&self) -> u32 {
        self.count
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bits.bytes()
    }

    /// Makes room for `words` 64-bit words of code in all.
    pub(crate) fn reserve_words(&mut self, words: usize) {
        self.bits.reserve_words(words);
    }

    pub(crate) fn slack(&self) -> usize {
        self.bits.slack()
    }

    pub(crate) fn shrink(&mut self) {
        self.bits.shrink();
    }

    pub(crate) fn iter(&self) -> ValueDecoder<'_> {
        ValueDecoder::new(self.bits.reader(), self.count)
    }

    /// The code: its words and its length in bits.
    pub(crate) fn code(&self) -> (&[u64], u32) {
        (self.bits.words(), self.bits.bit_len())
    }
}

/// Decodes the values of one [`ValueEncoder`] in order.
pub(crate) struct ValueDecoder<'a> {
    r: BitReader<'a>,
    prev: u64,
    delta: i64,
    lead: u32,
    trail: u32,
    left: u32,
    first: bool,
}

impl<'a> ValueDecoder<'a> {
    /// Decodes `count` values from `r` (code written by a [`ValueEncoder`],
    /// see [`ValueEncoder::code`]).
    pub(crate) fn new(r: BitReader<'a>, count: u32) -> ValueDecoder<'a> {
        ValueDecoder {
            r,
            prev: 0,
            delta: 0,
            lead: 0,
            trail: 0,
            left: count,
            first: true,
        }
    }

    fn xor(&mut self) {
        if self.r.read_bit() {
            self.lead = self.r.read(5) as u32;
            let sig = match self.r.read(6) as u32 {
                0 => 64,
                n => n,
            };
            self.trail = 64u32.saturating_sub(self.lead + sig);
        }
        let sig = 64u32.saturating_sub(self.lead + self.trail);
        self.prev ^= self.r.read(sig).checked_shl(self.trail).unwrap_or(0);
        self.delta = 0;
    }
}

impl Iterator for ValueDecoder<'_> {
    type Item = f64;

    #[inline]
    fn next(&mut self) -> Option<f64> {
        if self.left == 0 || self.r.overrun() {
            return None;
        }
        self.left -= 1;
        if self.first {
            self.first = false;
            self.prev = self.r.read(64);
            return Some(f64::from_bits(self.prev));
        }
        if !self.r.read_bit() {
            self.delta = 0;
            return Some(f64::from_bits(self.prev));
        }
        // Count further `1`s of the prefix: 0..=4 pick an integer class, 5 is XOR.
        let mut ones = 0;
        while ones < 5 && self.r.read_bit() {
            ones += 1;
        }
        match INT_CLASSES.get(ones) {
            Some(&(_, _, width)) => {
                let d = self.delta.wrapping_add(unzigzag(self.r.read(width)));
                let base = f64::from_bits(self.prev) as i64;
                self.prev = (base.wrapping_add(d) as f64).to_bits();
                self.delta = d;
            }
            None => self.xor(),
        }
        Some(f64::from_bits(self.prev))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(values: &[f64]) -> usize {
        let mut e = ValueEncoder::default();
        for &v in values {
            e.push(v);
        }
        let back: Vec<u64> = e.iter().map(f64::to_bits).collect();
        let want: Vec<u64> = values.iter().map(|v| v.to_bits()).collect();
        assert_eq!(back, want);
        e.bytes()
    }

    #[test]
    fn exact_for_special_values() {
        round_trip(&[
            0.0,
            -0.0,
            1.0,
            -1.0,
            f64::NAN,
            f64::from_bits(0x7ff0_0000_0000_0002),
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
            f64::MAX,
            9_007_199_254_740_992.0,
            -9_007_199_254_740_992.0,
            0.1,
            0.1,
            1e300,
            5.0,
            -0.0,
            3.0,
        ]);
    }

    #[test]
    fn counters_compress_well() {
        let mut v = 1000.0;
        let values: Vec<f64> = (0..240)
            .map(|i| {
                v += (i * 7 % 23) as f64;
                v
            })
            .collect();
        let bytes = round_trip(&values);
        // Steady increments cost a few bits each.
        assert!(bytes < 240 * 2, "{bytes} bytes");
    }

    #[test]
    fn floats_and_large_jumps() {
        let values: Vec<f64> = (0..300)
            .map(|i| match i % 5 {
                0 => i as f64 * 1.000_001,
                1 => 1e15 + i as f64,
                2 => -(i as f64),
                3 => 2f64.powi(60),
                _ => 0.5,
            })
            .collect();
        round_trip(&values);
    }
}
