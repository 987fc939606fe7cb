//! The CLI as a new user meets it: every argument explained, the exit codes
//! of `check` stated, flags (not internal fields) named in errors, names
//! accepted where addresses are, signals honoured, and no files written
//! outside a checkout by accident.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_vllm-grafana");
const SUBCOMMANDS: [&str; 7] = [
    "simulate",
    "dashboard",
    "alerts",
    "config",
    "kubernetes",
    "catalog",
    "check",
];

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .output()
        .expect("run vllm-grafana");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_argument_has_a_description() {
    for sub in SUBCOMMANDS {
        let (code, help, _) = run(&[sub, "-h"]);
        assert_eq!(code, 0, "{sub}");
        let mut section = "";
        for line in help.lines() {
            if line.ends_with(':') && !line.starts_with(' ') {
                section = line;
                continue;
            }
            let in_list = section == "Options:" || section == "Arguments:";
            if !in_list || !line.starts_with(' ') || line.trim().is_empty() {
                continue;
            }
            // "  --flag <VALUE>   What it does": the flag, two spaces, the text.
            let spec_and_text = line.trim_start();
            let described = spec_and_text
                .split_once("  ")
                .is_some_and(|(_, text)| !text.trim().is_empty());
            assert!(described, "{sub}: no description for {line:?}\n{help}");
        }
        assert!(!help.contains("[`"), "{sub}: internal doc link in\n{help}");
    }
    let (_, help, _) = run(&["check", "--help"]);
    assert!(help.contains("Exit status: 0 when every target"), "{help}");
}

#[test]
fn simulator_errors_name_the_flag() {
    let (code, _, err) = run(&[
        "simulate",
        "--vllm-version",
        "0.99",
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--vllm-version") && err.contains("newer than the newest release"),
        "{err}"
    );
    let (code, _, err) = run(&["simulate", "--rps=-1", "--listen", "127.0.0.1:0"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--rps must be between"), "{err}");
}

/// `--listen localhost:0` is resolved; SIGTERM (what `docker compose stop`
/// sends) stops the simulator at once, with status 0.
#[test]
fn the_simulator_listens_on_names_and_stops_on_sigterm() {
    let mut child = Command::new(BIN)
        .args(["simulate", "--listen", "localhost:0"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the simulator");
    let stderr = child.stderr.take().expect("stderr");
    let mut first = String::new();
    BufReader::new(stderr)
        .read_line(&mut first)
        .expect("a line");
    assert!(first.starts_with("simulating vLLM"), "{first}");
    let status = support::signal_and_wait(&mut child, "TERM", Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("the simulator: {e}"));
    assert!(status.success(), "{status}");
}

#[test]
fn generators_refuse_to_write_outside_a_checkout_unless_told_where() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for args in [vec!["alerts"], vec!["config", "--targets", "10.0.0.5:8000"]] {
        let out = Command::new(BIN)
            .args(&args)
            .current_dir(tmp.path())
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("is not the repository root") && err.contains("--root"),
            "{err}"
        );
    }
    assert_eq!(
        std::fs::read_dir(tmp.path()).expect("list").count(),
        0,
        "files were written"
    );
    let (code, _, err) = run(&[
        "config",
        "--targets",
        "10.0.0.5:8000",
        "--root",
        &tmp.path().display().to_string(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("writing under"), "{err}");
    assert!(tmp.path().join(vllm_grafana::targets::FILE_SD).is_file());
}

#[test]
fn dcgm_flags_are_checked_and_named() {
    for (args, flag) in [
        (
            vec!["--dcgm", "--gpus-per-engine", "0"],
            "--gpus-per-engine",
        ),
        (
            vec!["--dcgm", "--gpus-per-engine", "99"],
            "--gpus-per-engine",
        ),
        (
            vec![
                "--dcgm",
                "--listen",
                "127.0.0.1:18000",
                "--dcgm-listen",
                "127.0.0.1:18000",
            ],
            "--dcgm-listen",
        ),
    ] {
        let mut all = vec!["simulate"];
        if !args.contains(&"--listen") {
            all.extend(["--listen", "127.0.0.1:0"]);
        }
        all.extend(&args);
        let (code, _, err) = run(&all);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(flag), "{args:?}: {err}");
    }
    let (_, help, _) = run(&["simulate", "--help"]);
    for flag in [
        "--dcgm ",
        "--dcgm-listen",
        "--gpus-per-engine",
        "--dcgm-pod-labels",
    ] {
        assert!(help.contains(flag), "{flag} in\n{help}");
    }
}

/// `simulate --dcgm` serves the exporter's metrics on its own address.
#[test]
fn the_simulator_serves_a_dcgm_exporter_beside_vllm() {
    use std::io::{Read, Write};
    let free = || {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").to_string()
    };
    let exporter = free();
    let mut child = Command::new(BIN)
        .args([
            "simulate",
            "--listen",
            "127.0.0.1:0",
            "--dcgm",
            "--dcgm-listen",
            &exporter,
            "--gpus-per-engine",
            "2",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the simulator");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    let second = lines.next().and_then(Result::ok).unwrap_or_default();
    assert!(first.starts_with("simulating vLLM"), "{first}");
    assert!(
        second.contains(&format!(
            "DCGM exporter on http://{exporter}/metrics (2 GPU(s))"
        )),
        "{second}"
    );
    let mut body = String::new();
    for _ in 0..50 {
        if let Ok(mut s) = std::net::TcpStream::connect(&exporter) {
            let _ = write!(
                s,
                "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            );
            let _ = s.read_to_string(&mut body);
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = support::signal_and_wait(&mut child, "TERM", Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("the simulator: {e}"));
    assert!(status.success(), "{status}");
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    let gpus = body
        .lines()
        .filter(|l| l.starts_with(vllm_grafana::catalog::names::DCGM_GPU_UTIL))
        .count();
    assert_eq!(gpus, 2, "{body}");
}

/// `catalog` stays vLLM's alone (the drift check reads it); `--dcgm` prints the GPU metrics.
#[test]
fn the_catalog_keeps_gpu_metrics_apart() {
    let (code, out, err) = run(&["catalog"]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("DCGM_"), "no GPU metric among vLLM's");
    let (code, out, err) = run(&["catalog", "--dcgm"]);
    assert_eq!(code, 0, "{err}");
    let list: Vec<serde_json::Value> = serde_json::from_str(&out).expect("JSON");
    assert_eq!(list.len(), vllm_grafana::catalog::dcgm::DCGM_METRICS.len());
    let util = list
        .iter()
        .find(|m| m["name"] == vllm_grafana::catalog::names::DCGM_GPU_UTIL)
        .expect("GPU utilisation");
    assert_eq!(util["kind"], "gauge");
    assert_eq!(util["unit"], "percent");
    assert_eq!(util["help"], "GPU utilization (in %).");
    let (code, _, _) = run(&["catalog", "--dcgm", "--markdown"]);
    assert_eq!(code, 2, "one or the other");
}
