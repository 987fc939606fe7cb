//! Step, rate interval and `$__` variables, computed as Grafana's Prometheus
//! datasource does (grafana/grafana `pkg/promlib/models/query.go` and the
//! plugin SDK's `gtime`), so a dashboard gives the same PromQL and the same
//! points through either datasource.

use std::time::Duration;

/// Grafana's default minimum step and scrape interval.
pub const DEFAULT_SCRAPE_INTERVAL: Duration = Duration::from_secs(15);
/// Grafana's default resolution when `maxDataPoints` is unset.
const DEFAULT_RESOLUTION: i64 = 1500;
/// Prometheus refuses more than 11,000 points per series; Grafana never asks for more.
const SAFE_RESOLUTION: i64 = 11_000;

/// The longest interval or step taken (100 years): longer ones are typos,
/// and keep every later computation on them far from overflowing.
pub const MAX_INTERVAL: Duration = Duration::from_secs(100 * 31_557_600);

const NS_PER_MS: i128 = 1_000_000;
const NS_PER_S: u128 = 1_000_000_000;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid interval {value:?}: expected a duration such as 15s, 1m, 500ms or 1d")]
pub struct IntervalError {
    pub value: String,
}

/// Parses an interval as Grafana does for min step and scrape interval:
/// `<`/`>` are ignored, a bare number means seconds, `d`/`w`/`M`/`y` take a
/// whole number, anything else is a Go duration (`1m30s`, `1.5h`, `250ms`).
pub fn parse_interval(text: &str) -> Result<Duration, IntervalError> {
    parse_unbounded(text)
        .filter(|d| *d <= MAX_INTERVAL)
        .ok_or_else(|| IntervalError {
            value: text.to_string(),
        })
}

fn parse_unbounded(text: &str) -> Option<Duration> {
    let cleaned = text.trim().replacen('<', "", 1).replacen('>', "", 1);
    if !cleaned.is_empty() && cleaned.bytes().all(|b| b.is_ascii_digit()) {
        return cleaned.parse::<u64>().ok().map(Duration::from_secs);
    }
    if let Some(unit) = cleaned.chars().last().filter(|c| "dwMy".contains(*c)) {
        let number = &cleaned[..cleaned.len() - unit.len_utf8()];
        if !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) {
            let n: u64 = number.parse().ok()?;
            const DAY: f64 = 86_400.0;
            let secs = match unit {
                'd' => DAY,
                'w' => 7.0 * DAY,
                'y' => 365.25 * DAY,
                _ => 365.25 * DAY / 12.0,
            } * n as f64;
            return Duration::try_from_secs_f64(secs).ok();
        }
    }
    parse_go_duration(&cleaned)
}

/// Go's `time.ParseDuration`, for non-negative durations.
fn parse_go_duration(s: &str) -> Option<Duration> {
    let mut rest = s.strip_prefix('+').unwrap_or(s);
    if rest == "0" {
        return Some(Duration::ZERO);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..num_len];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return None;
        }
        let value: f64 = number.parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += value * scale;
        rest = &rest[unit_len..];
    }
    Duration::try_from_secs_f64(total).ok()
}

/// The "round" interval at or below `interval` (the SDK's `gtime.RoundInterval`).
pub fn round_interval(interval: Duration) -> Duration {
    const TABLE: &[(u64, u64)] = &[
        (10, 1),
        (15, 10),
        (35, 20),
        (75, 50),
        (150, 100),
        (350, 200),
        (750, 500),
        (1_500, 1_000),
        (3_500, 2_000),
        (7_500, 5_000),
        (12_500, 10_000),
        (17_500, 15_000),
        (25_000, 20_000),
        (45_000, 30_000),
        (90_000, 60_000),
        (210_000, 120_000),
        (450_000, 300_000),
        (750_000, 600_000),
        (1_050_000, 900_000),
        (1_500_000, 1_200_000),
        (2_700_000, 1_800_000),
        (5_400_000, 3_600_000),
        (9_000_000, 7_200_000),
        (16_200_000, 10_800_000),
        (32_400_000, 21_600_000),
        (86_400_000, 43_200_000),
        (172_800_000, 86_400_000),
        (604_800_000, 86_400_000),
        (1_814_400_000, 604_800_000),
    ];
    for &(upto_ms, rounded_ms) in TABLE {
        if interval <= Duration::from_millis(upto_ms) {
            return Duration::from_millis(rounded_ms);
        }
    }
    if interval < Duration::from_millis(3_628_800_000) {
        Duration::from_millis(2_592_000_000)
    } else {
        Duration::from_millis(31_536_000_000)
    }
}

/// Grafana's interval text for `$__interval`: the largest whole unit
/// (`90s` gives `1m`, as Grafana does).
pub fn format_interval(d: Duration) -> String {
    let s = d.as_secs();
    let units: [(u64, &str); 5] = [
        (365 * 86_400, "y"),
        (86_400, "d"),
        (3_600, "h"),
        (60, "m"),
        (1, "s"),
    ];
    for (size, unit) in units {
        if s >= size {
            return format!("{}{unit}", s / size);
        }
    }
    let ms = d.as_millis();
    if ms >= 1 {
        format!("{ms}ms")
    } else {
        "1ms".to_string()
    }
}

/// Go's `time.Duration.String()` (`1m0s`, `1.5s`, `250ms`): Grafana shows the
/// step this way in `executedQueryString`.
pub fn go_duration_string(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns == 0 {
        return "0s".to_string();
    }
    if ns < 1_000 {
        return format!("{ns}ns");
    }
    if ns < 1_000_000 {
        return format!("{}\u{b5}s", decimal(ns, 1_000));
    }
    if ns < NS_PER_S {
        return format!("{}ms", decimal(ns, 1_000_000));
    }
    let hours = ns / (3_600 * NS_PER_S);
    let minutes = ns % (3_600 * NS_PER_S) / (60 * NS_PER_S);
    let seconds = ns % (60 * NS_PER_S);
    let mut out = String::new();
    if hours > 0 {
        out.push_str(&format!("{hours}h"));
    }
    if hours > 0 || minutes > 0 {
        out.push_str(&format!("{minutes}m"));
    }
    out.push_str(&format!("{}s", decimal(seconds, NS_PER_S)));
    out
}

/// `value / unit` with the fraction's trailing zeros removed.
fn decimal(value: u128, unit: u128) -> String {
    let whole = value / unit;
    let frac = value % unit;
    if frac == 0 {
        return whole.to_string();
    }
    let width = unit.ilog10() as usize;
    let digits = format!("{frac:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// A duration PromQL accepts: Go's spelling when it has no fractional
/// seconds (`4m0s`, as Grafana writes `$__rate_interval`), otherwise whole
/// units down to milliseconds (`1s500ms`; Go's `1.5s` is not PromQL).
pub fn promql_duration(d: Duration) -> String {
    let ms = d.as_millis().max(1);
    if ms % 1000 == 0 || ms < 1000 {
        return go_duration_string(Duration::from_millis(ms as u64));
    }
    let whole = go_duration_string(Duration::from_secs((ms / 1000) as u64));
    format!("{whole}{}ms", ms % 1000)
}

/// What the step depends on, from the query and the datasource.
#[derive(Clone, Copy, Debug)]
pub struct StepInputs<'a> {
    pub from_ms: i64,
    pub to_ms: i64,
    /// Grafana's `intervalMs` (0 when unset).
    pub interval_ms: i64,
    /// Grafana's `maxDataPoints` (0 when unset).
    pub max_data_points: i64,
    /// The query's min step (`interval`), as written; may be a variable.
    pub min_step: &'a str,
    /// The deprecated `intervalFactor` (0 when unset).
    pub interval_factor: i64,
    /// The datasource's scrape interval (`timeInterval`), "" when unset.
    pub scrape_interval: &'a str,
}

impl StepInputs<'_> {
    fn range(&self) -> Duration {
        Duration::from_millis(self.to_ms.saturating_sub(self.from_ms).max(0) as u64)
    }

    fn query_interval(&self) -> Duration {
        Duration::from_millis(self.interval_ms.max(0) as u64)
    }
}

fn is_rate_interval_variable(s: &str) -> bool {
    matches!(s, "$__rate_interval" | "${__rate_interval}")
}

fn is_interval_variable(s: &str) -> bool {
    matches!(s, "$__interval" | "${__interval}")
}

fn is_variable_interval(s: &str) -> bool {
    is_rate_interval_variable(s)
        || is_interval_variable(s)
        || matches!(
            s,
            "$__interval_ms" | "${__interval_ms}" | "$__rate_interval_ms" | "${__rate_interval_ms}"
        )
}

/// The minimum interval: the query's min step, else Grafana's `intervalMs`,
/// else the datasource scrape interval, else 15s (the SDK's `GetIntervalFrom`).
fn min_interval(i: &StepInputs<'_>) -> Result<Duration, IntervalError> {
    let query = match i.min_step.trim() {
        "0s" => "",
        q if is_variable_interval(q) => "",
        q => q,
    };
    if query.is_empty() && i.interval_ms > 0 {
        return Ok(i.query_interval());
    }
    let chosen = if query.is_empty() {
        i.scrape_interval.trim()
    } else {
        query
    };
    if chosen.is_empty() {
        return Ok(DEFAULT_SCRAPE_INTERVAL);
    }
    parse_interval(chosen)
}

/// The query step Grafana sends to `query_range`: the larger of the
/// interval for `maxDataPoints` (never below the minimum interval) and the
/// range / 11,000 safe resolution, times `intervalFactor`; a min step of
/// `$__rate_interval` makes the step the rate interval itself.
pub fn step(i: &StepInputs<'_>) -> Result<Duration, IntervalError> {
    let min = min_interval(i)?;
    let range_ns = i.range().as_nanos();
    let resolution = if i.max_data_points > 0 {
        i.max_data_points
    } else {
        DEFAULT_RESOLUTION
    };
    let raw = duration_from_ns(range_ns / resolution as u128);
    let calculated = if raw < min { min } else { round_interval(raw) };
    let safe = round_interval(duration_from_ns(range_ns / SAFE_RESOLUTION as u128));
    let adjusted = calculated.max(safe);
    if is_rate_interval_variable(i.min_step.trim()) {
        return Ok(rate_interval(adjusted, i.scrape_interval));
    }
    let factor = i.interval_factor.clamp(1, i64::from(u32::MAX)) as u32;
    adjusted
        .checked_mul(factor)
        .filter(|d| *d <= MAX_INTERVAL)
        .ok_or_else(|| IntervalError {
            value: format!("{} × intervalFactor {factor}", format_interval(adjusted)),
        })
}

fn duration_from_ns(ns: u128) -> Duration {
    Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
}

/// `$__rate_interval`: at least four scrape intervals, and one interval
/// plus one scrape interval, so `rate()` always sees two samples.
/// An unparsable scrape interval gives zero, as in Grafana.
pub fn rate_interval(interval: Duration, scrape_interval: &str) -> Duration {
    let scrape = match scrape_interval.trim() {
        "" => Ok(DEFAULT_SCRAPE_INTERVAL),
        s => parse_interval(s),
    };
    match scrape {
        Ok(scrape) => interval
            .saturating_add(scrape)
            .max(scrape.saturating_mul(4)),
        Err(_) => Duration::ZERO,
    }
}

/// Replaces Grafana's built-in variables in `expr`, both `$__x` and `${__x}`.
pub fn expand_variables(expr: &str, i: &StepInputs<'_>, step: Duration) -> String {
    if !expr.contains("$") {
        return expr.to_string();
    }
    let range_ms = i.range().as_millis();
    let range_s = (range_ms as f64 / 1000.0).round() as u128;
    let min_step = i.min_step.trim();
    let rate = if is_rate_interval_variable(min_step) {
        step
    } else {
        let scrape = if is_interval_variable(min_step) {
            go_duration_string(step)
        } else if min_step.is_empty() {
            i.scrape_interval.to_string()
        } else {
            min_step.to_string()
        };
        rate_interval(i.query_interval(), &scrape)
    };
    let values = [
        ("__interval_ms", step.as_millis().to_string()),
        ("__interval", format_interval(step)),
        ("__range_ms", range_ms.to_string()),
        ("__range_s", range_s.to_string()),
        ("__range", format!("{range_s}s")),
        ("__rate_interval_ms", rate.as_millis().to_string()),
        ("__rate_interval", promql_duration(rate)),
    ];
    let mut out = expr.to_string();
    // Longer names first, so `$__interval` does not eat `$__interval_ms`.
    for (name, value) in &values {
        out = out.replace(&format!("${name}"), value);
        out = out.replace(&format!("${{{name}}}"), value);
    }
    out
}

/// Rounds `t_ms` down to a multiple of `step`, shifted by the browser's UTC
/// offset as Grafana does, so Prometheus can cache results. Nanoseconds.
pub fn align_ns(t_ms: i64, step: Duration, utc_offset_sec: i64) -> i128 {
    let step_ns = step.as_nanos() as i128;
    let t_ns = i128::from(t_ms) * NS_PER_MS;
    if step_ns == 0 {
        return t_ns;
    }
    let offset_ns = i128::from(utc_offset_sec) * NS_PER_S as i128;
    (t_ns + offset_ns).div_euclid(step_ns) * step_ns - offset_ns
}

/// A Unix time in nanoseconds as the decimal seconds Prometheus takes.
pub fn prometheus_time(ns: i128) -> String {
    let secs = ns.div_euclid(NS_PER_S as i128);
    let frac = ns.rem_euclid(NS_PER_S as i128) as u128;
    if frac == 0 {
        secs.to_string()
    } else {
        let digits = format!("{frac:09}");
        format!("{secs}.{}", digits.trim_end_matches('0'))
    }
}

/// A step as the decimal seconds Prometheus takes (`15`, `0.5`).
pub fn prometheus_step(step: Duration) -> String {
    prometheus_time(step.as_nanos() as i128)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_and_steps_are_at_most_a_century() {
        assert_eq!(parse_interval("100y"), Ok(MAX_INTERVAL));
        assert!(parse_interval("101y").is_err());
        assert!(parse_interval("876601h").is_err());
        let inputs = StepInputs {
            from_ms: 0,
            to_ms: 3_600_000,
            interval_ms: 0,
            max_data_points: 1000,
            min_step: "50y",
            interval_factor: 3,
            scrape_interval: "",
        };
        let e = step(&inputs).expect_err("150 years");
        assert!(e.to_string().contains("intervalFactor 3"), "{e}");
        // Saturates instead of overflowing.
        assert_eq!(rate_interval(Duration::MAX, "100y"), Duration::MAX);
    }

    fn inputs(range_s: i64) -> StepInputs<'static> {
        StepInputs {
            from_ms: 1_700_000_000_000,
            to_ms: 1_700_000_000_000 + range_s * 1000,
            interval_ms: 0,
            max_data_points: 0,
            min_step: "",
            interval_factor: 0,
            scrape_interval: "",
        }
    }

    #[test]
    fn parses_grafana_and_go_durations() {
        let ok = |s: &str| parse_interval(s).expect(s);
        assert_eq!(ok("15s"), Duration::from_secs(15));
        assert_eq!(ok("30"), Duration::from_secs(30));
        assert_eq!(ok(">10s"), Duration::from_secs(10));
        assert_eq!(ok("1m30s"), Duration::from_secs(90));
        assert_eq!(ok("1.5h"), Duration::from_secs(5400));
        assert_eq!(ok("250ms"), Duration::from_millis(250));
        assert_eq!(ok("2d"), Duration::from_secs(2 * 86_400));
        assert_eq!(ok("1w"), Duration::from_secs(7 * 86_400));
        assert_eq!(ok("1m0s"), Duration::from_secs(60));
        for bad in ["", "abc", "1x", "1.2.3s", "-5s", "s", "1d2h"] {
            assert!(parse_interval(bad).is_err(), "{bad:?} should fail");
        }
    }

    #[test]
    fn formats_like_go_and_grafana() {
        assert_eq!(go_duration_string(Duration::from_secs(60)), "1m0s");
        assert_eq!(go_duration_string(Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(go_duration_string(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration_string(Duration::from_millis(250)), "250ms");
        assert_eq!(go_duration_string(Duration::from_secs(15)), "15s");
        assert_eq!(format_interval(Duration::from_secs(90)), "1m");
        assert_eq!(format_interval(Duration::from_millis(200)), "200ms");
        assert_eq!(promql_duration(Duration::from_millis(61_500)), "1m1s500ms");
        assert_eq!(promql_duration(Duration::from_secs(240)), "4m0s");
        assert_eq!(prometheus_step(Duration::from_millis(500)), "0.5");
        assert_eq!(prometheus_time(1_700_000_000_250_000_000), "1700000000.25");
    }

    #[test]
    fn step_follows_grafana_rules() {
        // 1h at 1000 points: 3.6s rounds to 2s, but the 15s default minimum wins.
        let mut i = inputs(3600);
        i.max_data_points = 1000;
        assert_eq!(step(&i).expect("step"), Duration::from_secs(15));
        // intervalMs is the minimum when the query sets none.
        i.interval_ms = 5000;
        assert_eq!(step(&i).expect("step"), Duration::from_secs(5));
        // The query's min step overrides intervalMs.
        i.min_step = "1m";
        assert_eq!(step(&i).expect("step"), Duration::from_secs(60));
        // intervalFactor multiplies.
        i.interval_factor = 2;
        assert_eq!(step(&i).expect("step"), Duration::from_secs(120));
        // 30 days at 100,000 points: the safe resolution (235s -> 5m) wins.
        let mut long = inputs(30 * 86_400);
        long.max_data_points = 100_000;
        long.interval_ms = 1000;
        assert_eq!(step(&long).expect("step"), Duration::from_secs(300));
        // The datasource scrape interval applies without intervalMs.
        let mut ds = inputs(60);
        ds.scrape_interval = "1s";
        assert_eq!(step(&ds).expect("step"), Duration::from_secs(1));
        ds.min_step = "nonsense";
        assert!(step(&ds).is_err());
    }

    #[test]
    fn rate_interval_is_four_scrapes_or_interval_plus_scrape() {
        assert_eq!(
            rate_interval(Duration::from_secs(15), ""),
            Duration::from_secs(60)
        );
        assert_eq!(
            rate_interval(Duration::from_secs(60), "15s"),
            Duration::from_secs(75)
        );
        assert_eq!(
            rate_interval(Duration::from_secs(1), "1s"),
            Duration::from_secs(4)
        );
        assert_eq!(
            rate_interval(Duration::from_secs(1), "junk"),
            Duration::ZERO
        );
        // A min step of $__rate_interval makes the step the rate interval.
        let mut i = inputs(3600);
        i.interval_ms = 15_000;
        i.max_data_points = 1000;
        i.min_step = "$__rate_interval";
        assert_eq!(step(&i).expect("step"), Duration::from_secs(60));
    }

    #[test]
    fn expands_every_builtin_in_both_spellings() {
        let mut i = inputs(3600);
        i.interval_ms = 15_000;
        let step = Duration::from_secs(30);
        let got = expand_variables(
            "rate(x[$__rate_interval]) ${__rate_interval} $__interval ${__interval_ms} $__range ${__range_s} $__range_ms $__rate_interval_ms $job",
            &i,
            step,
        );
        assert_eq!(
            got,
            "rate(x[1m0s]) 1m0s 30s 30000 3600s 3600 3600000 60000 $job"
        );
        i.min_step = "$__interval";
        // The scrape interval is then the step: max(15s + 60s, 4 x 60s).
        assert_eq!(
            expand_variables("$__rate_interval", &i, Duration::from_secs(60)),
            "4m0s"
        );
    }

    #[test]
    fn alignment_rounds_down_to_the_step_with_utc_offset() {
        let step = Duration::from_secs(60);
        assert_eq!(
            align_ns(1_700_000_030_500, step, 0),
            1_699_999_980_000_000_000
        );
        assert_eq!(
            align_ns(1_700_000_040_000, step, 0),
            1_700_000_040_000_000_000
        );
        // One hour east of UTC: multiples of the step in local time.
        let day = Duration::from_secs(86_400);
        let aligned = align_ns(1_700_000_000_000, day, 3600);
        assert_eq!((aligned / 1_000_000_000 + 3600) % 86_400, 0);
    }
}
