//! Logarithms as Prometheus computes them (Go's math package on amd64), so
//! that `ln`, `log2` and `log10` agree to the last bit: dashboards compare
//! and `count_values` label their results, and Go's `log2` of a value next
//! to 1 is off by far more than a bit in relative terms.
//!
//! The natural logarithm is the classic argument reduction to
//! `2^k * (1 + f)` with `sqrt(2)/2 <= 1 + f < sqrt(2)` and a polynomial in
//! `s = f / (2 + f)`, evaluated in Go's order of operations. Like Go's
//! assembly, it reads a subnormal's exponent field as if it were normal.
//! Other transcendental functions use the platform's library (see the
//! module documentation).

const LN2_HI: u64 = 0x3fe6_2e42_fee0_0000;
const LN2_LO: u64 = 0x3dea_39ef_3579_3c76;
/// Coefficients of the polynomial in `s^2`.
const LG: [u64; 7] = [
    0x3fe5_5555_5555_5593,
    0x3fd9_9999_9997_fa04,
    0x3fd2_4924_9422_9359,
    0x3fcc_71c5_1d8e_78af,
    0x3fc7_4664_96cb_03de,
    0x3fc3_9a09_d078_c69f,
    0x3fc2_f112_df3e_5244,
];

fn c(i: usize) -> f64 {
    f64::from_bits(LG[i])
}

/// Go's `math.Log` on amd64.
pub(crate) fn ln(x: f64) -> f64 {
    if x == 0.0 {
        return f64::NEG_INFINITY;
    }
    if x < 0.0 || x.is_nan() {
        return f64::NAN;
    }
    if x.is_infinite() {
        return x;
    }
    let bits = x.to_bits();
    let mut f1 = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3fe0_0000_0000_0000);
    let mut k = (((bits >> 52) & 0x7ff) as i64 - 0x3fe) as f64;
    if f1 <= std::f64::consts::FRAC_1_SQRT_2 {
        f1 *= 2.0;
        k -= 1.0;
    }
    let f = f1 - 1.0;
    let s = f / (2.0 + f);
    let s2 = s * s;
    let s4 = s2 * s2;
    let t1 = s2 * (((c(6) * s4 + c(4)) * s4 + c(2)) * s4 + c(0));
    let t2 = s4 * ((c(5) * s4 + c(3)) * s4 + c(1));
    let r = t1 + t2;
    let hfsq = 0.5 * f * f;
    let lo = (hfsq - (s * (hfsq + r) + k * f64::from_bits(LN2_LO))) - f;
    k * f64::from_bits(LN2_HI) - lo
}

/// Go's `frexp`: `x = frac * 2^exp` with `0.5 <= |frac| < 1`, subnormals
/// normalised first.
fn frexp(x: f64) -> (f64, i64) {
    if x == 0.0 || x.is_nan() || x.is_infinite() {
        return (x, 0);
    }
    let (mut x, mut exp) = (x, 0i64);
    if x.abs() < f64::MIN_POSITIVE {
        x *= (1u64 << 52) as f64;
        exp = -52;
    }
    let bits = x.to_bits();
    exp += ((bits >> 52) & 0x7ff) as i64 - 1022;
    let frac = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (frac, exp)
}

/// Go's `math.Log2`: exact for powers of two, else `ln` of the fraction.
pub(crate) fn log2(x: f64) -> f64 {
    let (frac, exp) = frexp(x);
    if frac == 0.5 {
        return (exp - 1) as f64;
    }
    ln(frac) * std::f64::consts::LOG2_E + exp as f64
}

/// Go's `math.Log10`: `ln` times 1/ln(10).
pub(crate) fn log10(x: f64) -> f64 {
    ln(x) * std::f64::consts::LOG10_E
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_as_prometheus_2_42_does() {
        // Each value as Prometheus 2.42 (amd64) answers it.
        assert_eq!(ln(3.0), 1.0986122886681096);
        assert_eq!(ln(std::f64::consts::FRAC_1_SQRT_2), -0.3465735902799726);
        assert_eq!(ln(123456789.123), 18.631401767164316);
        assert_eq!(ln(1e-310), -709.0850815488945);
        assert_eq!(log10(1000.0), 3.0);
        assert_eq!(log10(0.001), -3.0);
        assert_eq!(log10(3.0), 0.4771212547196624);
        assert_eq!(log10(14.0), 1.1461280356782382);
        assert_eq!(log2(10.0), std::f64::consts::LOG2_10);
        assert_eq!(log2(1.0000000000000009), 1.3322676295501878e-15);
        assert_eq!(log2(5e-324), -1074.0);
        assert_eq!(ln(0.0), f64::NEG_INFINITY);
        assert!(ln(-1.0).is_nan() && log2(f64::NAN).is_nan());
        assert_eq!(log10(f64::INFINITY), f64::INFINITY);
        assert_eq!(log2(0.0), f64::NEG_INFINITY);
    }
}
