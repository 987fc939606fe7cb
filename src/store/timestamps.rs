//! The per-target timestamp column: delta-of-delta encoded, one entry per
//! scrape, shared by every series of the target.

use super::bits::{unzigzag, zigzag, BitBuf, BitReader};

/// `(prefix, prefix bits, payload bits)` per delta-of-delta class.
const CLASSES: [(u64, u32, u32); 4] = [
    (0b10, 2, 8),
    (0b110, 3, 16),
    (0b1110, 4, 32),
    (0b1111, 4, 64),
];

#[derive(Clone, Debug, Default)]
pub(crate) struct TimeEncoder {
    bits: BitBuf,
    count: u32,
    first: i64,
    last: i64,
    prev_delta: i64,
}

impl TimeEncoder {
    pub(crate) fn push(&mut self, t: i64) {
        if self.count == 0 {
            self.bits.write(t as u64, 64);
            self.first = t;
        } else {
            let delta = t.wrapping_sub(self.last);
            let dod = zigzag(delta.wrapping_sub(self.prev_delta));
            if dod == 0 {
                self.bits.write_bit(false);
            } else {
                let &(prefix, plen, width) = CLASSES
                    .iter()
                    .find(|c| c.2 == 64 || dod < (1u64 << c.2))
                    .unwrap_or(&CLASSES[3]);
                self.bits.write(prefix, plen);
                self.bits.write(dod, width);
            }
            self.prev_delta = delta;
        }
        self.last = t;
        self.count += 1;
    }

    pub(crate) fn len(&self) -> usize {
        self.count as usize
    }

    pub(crate) fn first(&self) -> Option<i64> {
        (self.count > 0).then_some(self.first)
    }

    pub(crate) fn last(&self) -> Option<i64> {
        (self.count > 0).then_some(self.last)
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bits.bytes()
    }

    pub(crate) fn slack(&self) -> usize {
        self.bits.slack()
    }

    pub(crate) fn shrink(&mut self) {
        self.bits.shrink();
    }

    /// Every timestamp, decoded.
    pub(crate) fn decode(&self) -> Vec<i64> {
        let mut out = Vec::with_capacity(self.count as usize);
        let mut r = self.bits.reader();
        let mut prev = 0i64;
        let mut delta = 0i64;
        for i in 0..self.count {
            if i == 0 {
                prev = r.read(64) as i64;
            } else {
                delta = delta.wrapping_add(read_dod(&mut r));
                prev = prev.wrapping_add(delta);
            }
            if r.overrun() {
                break;
            }
            out.push(prev);
        }
        out
    }
}

fn read_dod(r: &mut BitReader<'_>) -> i64 {
    if !r.read_bit() {
        return 0;
    }
    // After the leading `1`: `0` → 8 bits, `10` → 16, `110` → 32, `111` → 64.
    let width = if !r.read_bit() {
        8
    } else if !r.read_bit() {
        16
    } else if !r.read_bit() {
        32
    } else {
        64
    };
    unzigzag(r.read(width))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_jittered_scrapes() {
        let mut e = TimeEncoder::default();
        let ts: Vec<i64> = (0..500i64)
            .map(|i| {
                1_700_000_000_000 + i * 15_000 + (i * 37 % 200)
                    - if i == 77 { 9_000_000_000 } else { 0 }
            })
            .collect();
        for &t in &ts {
            e.push(t);
        }
        assert_eq!(e.decode(), ts);
        assert_eq!(e.first(), Some(ts[0]));
    }

    #[test]
    fn regular_scrapes_cost_a_bit_each() {
        let mut e = TimeEncoder::default();
        for i in 0..240 {
            e.push(i * 15_000);
        }
        assert!(e.bytes() <= 8 + 8 + 32, "{}", e.bytes());
        assert_eq!(e.decode().len(), 240);
    }
}
