//! The API server process as prometheus_client's default collectors see it:
//! `process_*` from `/proc` and `python_*` from the garbage collector.

use crate::catalog::names;

/// What drives the process numbers: time and traffic so far.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ServerLoad {
    /// Simulated seconds since the engines became ready.
    pub elapsed: f64,
    /// HTTP requests handled.
    pub requests: f64,
    /// Prompt plus generated tokens (detokenisation costs CPU in the server).
    pub tokens: f64,
    /// Requests open right now (each holds a socket).
    pub in_flight: f64,
}

/// Model loading happens between process start and the first scrape.
const STARTUP_SECONDS: f64 = 48.37;
const PAGE: f64 = 4096.0;

fn pages(bytes: f64) -> f64 {
    (bytes / PAGE).round() * PAGE
}

/// Value of a `process_*` gauge or counter; `None` for other names.
pub(crate) fn process_value(name: &str, load: ServerLoad, start_unix: f64) -> Option<f64> {
    let resident = 6.9e8
        + 2.6e7 * (1.0 + (load.elapsed / 420.0).sin())
        + 1.6e5 * load.in_flight
        + 3.0e4 * load.requests.sqrt();
    let value = match name {
        names::PROCESS_RESIDENT_MEMORY_BYTES => pages(resident),
        names::PROCESS_VIRTUAL_MEMORY_BYTES => pages(8.61e9 + resident),
        // /proc reports start time in clock ticks (1/100 s).
        names::PROCESS_START_TIME_SECONDS => {
            ((start_unix - STARTUP_SECONDS) * 100.0).round() / 100.0
        }
        names::PROCESS_CPU_SECONDS => {
            let cpu = 31.4 + 0.021 * load.elapsed + 0.0035 * load.requests + 1.2e-6 * load.tokens;
            (cpu * 100.0).floor() / 100.0
        }
        names::PROCESS_OPEN_FDS => 41.0 + load.in_flight.min(65_000.0),
        names::PROCESS_MAX_FDS => 1_048_576.0,
        _ => return None,
    };
    Some(value)
}

/// Value of a `python_gc_*` counter for `generation` ("0", "1", "2").
pub(crate) fn gc_value(name: &str, generation: &str, load: ServerLoad) -> f64 {
    let gen0 = (1750.0 + 0.9 * load.elapsed + 2.6 * load.requests).floor();
    let collections = match generation {
        "0" => gen0,
        "1" => (gen0 / 10.6).floor(),
        _ => (gen0 / 150.0).floor(),
    };
    match name {
        names::PYTHON_GC_COLLECTIONS => collections,
        names::PYTHON_GC_OBJECTS_COLLECTED => {
            let per_run = match generation {
                "0" => 6.4,
                "1" => 10.2,
                _ => 21.5,
            };
            (collections * per_run).floor()
        }
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_rise_with_time_and_traffic() {
        let early = ServerLoad {
            elapsed: 10.0,
            requests: 5.0,
            tokens: 1e4,
            in_flight: 2.0,
        };
        let late = ServerLoad {
            elapsed: 600.0,
            requests: 2400.0,
            tokens: 2e6,
            in_flight: 0.0,
        };
        let cpu = names::PROCESS_CPU_SECONDS;
        assert!(process_value(cpu, late, 0.0) > process_value(cpu, early, 0.0));
        for g in ["0", "1", "2"] {
            let n = names::PYTHON_GC_COLLECTIONS;
            assert!(gc_value(n, g, late) >= gc_value(n, g, early));
        }
        let rss = process_value(names::PROCESS_RESIDENT_MEMORY_BYTES, late, 0.0).unwrap_or(0.0);
        assert!((5e8..2e9).contains(&rss), "{rss}");
        assert_eq!(rss % 4096.0, 0.0);
    }
}
