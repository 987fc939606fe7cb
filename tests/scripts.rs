//! The scripts a new user runs first: `start-monitoring.sh` against a stub
//! `docker` that fails in each way a real one does (no Docker, no engine, a
//! failing build, a Grafana that never answers), and `scripts/demo.sh`
//! stopped with SIGINT and refusing a port that is taken. (A real Docker
//! engine is not available here: the stack itself is checked statically in
//! tests/stack.rs.)

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const BIN: &str = env!("CARGO_BIN_EXE_vllm-grafana");

/// A `docker` that answers `info`, `compose version` and `compose up` as
/// `$STUB_MODE` says; a daemon that is down prints a long traceback.
const STUB_DOCKER: &str = r#"#!/bin/sh
case "$1 $2" in
  "info "*)
    if [ "$STUB_MODE" = no-engine ]; then
      i=0
      while [ $i -lt 80 ]; do echo "Traceback line $i: connection refused" >&2; i=$((i + 1)); done
      exit 1
    fi
    exit 0 ;;
  "compose version") exit 0 ;;
  "compose up")
    if [ "$STUB_MODE" = compose-fails ]; then echo "failed to build grafana" >&2; exit 1; fi
    exit 0 ;;
esac
exit 0
"#;

/// A folder of links to the tools the start script uses, plus `docker`
/// when `stub` is set, to put alone on PATH.
fn tools(dir: &Path, stub: bool) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    for tool in ["sh", "dirname", "sleep", "curl", "wget", "cat"] {
        let found = ["/usr/bin", "/bin"]
            .iter()
            .map(|d| Path::new(d).join(tool))
            .find(|p| p.exists());
        if let Some(path) = found {
            let _ = std::os::unix::fs::symlink(path, bin.join(tool));
        }
    }
    if stub {
        let docker = bin.join("docker");
        std::fs::write(&docker, STUB_DOCKER).expect("stub");
        std::fs::set_permissions(&docker, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    bin
}

/// An HTTP server answering 200 to every request, like Grafana's /api/health.
fn healthy_grafana() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let mut buf = [0u8; 2048];
            let _ = conn.read(&mut buf);
            let body = r#"{"database":"ok"}"#;
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn start_monitoring(mode: &str, stub: bool, port: u16) -> Output {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tools(tmp.path(), stub);
    Command::new(path.join("sh"))
        .arg(Path::new(ROOT).join("start-monitoring.sh"))
        .env_clear()
        .env("PATH", &path)
        .env("STUB_MODE", mode)
        .env("GRAFANA_PORT", port.to_string())
        .env("START_TIMEOUT", "2")
        .output()
        .expect("run start-monitoring.sh")
}

/// The script's own last stderr line: one line, saying what to do.
fn last_error(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err.lines().last().unwrap_or("").to_string();
    assert!(last.starts_with("start-monitoring: "), "{err}");
    last
}

#[test]
fn start_monitoring_says_in_one_line_what_is_wrong() {
    let port = free_port();
    let out = start_monitoring("", false, port);
    assert_eq!(out.status.code(), Some(1));
    assert!(last_error(&out).contains("Docker is not installed"));
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);

    let out = start_monitoring("no-engine", true, port);
    assert_eq!(out.status.code(), Some(1));
    assert!(last_error(&out).contains("engine is not running"));
    // The engine's own traceback is not shown.
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);

    let out = start_monitoring("compose-fails", true, port);
    assert_eq!(out.status.code(), Some(1));
    assert!(last_error(&out).contains("up' failed"));

    let out = start_monitoring("ok", true, port);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        last_error(&out).contains("Grafana did not answer"),
        "{out:?}"
    );
}

#[test]
fn start_monitoring_waits_for_grafana_then_prints_the_addresses() {
    let port = healthy_grafana();
    let out = start_monitoring("ok", true, port);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("Grafana:    http://localhost:{port}")),
        "{stdout}"
    );
    assert!(
        stdout.contains("Prometheus: http://localhost:9090"),
        "{stdout}"
    );
}

#[test]
fn the_windows_script_checks_the_engine_waits_and_opens_the_browser() {
    let bat = std::fs::read_to_string(Path::new(ROOT).join("start-monitoring.bat")).expect("bat");
    for part in [
        "docker info",
        "/api/health",
        "start \"\" http://localhost:",
        "pause",
        "/wait",
    ] {
        assert!(bat.contains(part), "start-monitoring.bat lacks {part:?}");
    }
    assert!(bat.contains("\r\n"), "CRLF line ends for cmd.exe");
}

fn demo(port: u16) -> Child {
    // As from a terminal, where Ctrl-C reaches it: a shell cannot trap a
    // signal it started with ignored, and a test run launched as a
    // background job inherits SIGINT ignored.
    Command::new("env")
        .args(["--default-signal=INT", "bash"])
        .arg(Path::new(ROOT).join("scripts/demo.sh"))
        .env("DEMO_PORT", port.to_string())
        .env("VLLM_GRAFANA_BIN", BIN)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run demo.sh")
}

#[test]
fn the_demo_stops_on_sigint_with_its_simulator() {
    let port = free_port();
    let mut child = demo(port);
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let ok = format!("== http://127.0.0.1:{port}/metrics [OK]");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let line = lines
            .next()
            .expect("the demo printed a check")
            .expect("text");
        if line == ok {
            break;
        }
        assert!(Instant::now() < deadline, "no healthy check within 30 s");
    }
    let status = support::signal_and_wait(&mut child, "INT", Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("demo.sh: {e}"));
    assert_eq!(status.code(), Some(130));
    // The simulator went with it.
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the simulator still listens on {port}"
    );
}

#[test]
fn the_demo_refuses_a_port_that_is_taken() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let out = demo(port).wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("port {port} is taken")), "{err}");
}
