//! What benches and tests read about processes from Linux's `/proc`: CPU
//! time, peak and resident memory; and numeric knobs from the environment.

/// A number from the environment variable `name`, or `default`.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Clock ticks per second (`getconf CLK_TCK`, 100 when unknown).
pub fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// utime + stime in seconds from a `stat` file: `/proc/<pid>/stat` for a
/// process, `/proc/thread-self/stat` for the calling thread.
pub fn cpu_seconds(stat_path: &str, ticks_per_sec: f64) -> Result<f64, String> {
    let stat = std::fs::read_to_string(stat_path).map_err(|e| format!("{stat_path}: {e}"))?;
    // Fields after the command name, which ends at the last ')'.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| format!("unexpected {stat_path}"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15; `rest` starts at field 3.
    let field = |n: usize| -> Result<f64, String> {
        fields
            .get(n - 3)
            .and_then(|v| v.parse::<f64>().ok())
            .ok_or_else(|| format!("no field {n} in {stat_path}"))
    };
    Ok((field(14)? + field(15)?) / ticks_per_sec)
}

/// CPU seconds of process `pid` so far.
pub fn process_cpu_seconds(pid: u32, ticks_per_sec: f64) -> Result<f64, String> {
    cpu_seconds(&format!("/proc/{pid}/stat"), ticks_per_sec)
}

/// A field of /proc/<pid>/status in KiB (VmHWM, VmRSS).
pub fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| {
        l.strip_prefix(field)?
            .strip_prefix(':')?
            .trim()
            .strip_suffix("kB")?
            .trim()
            .parse()
            .ok()
    })
}

/// KiB as MiB for reports; `?` when unknown.
pub fn mib(kib: Option<u64>) -> String {
    kib.map_or("?".to_string(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
}
