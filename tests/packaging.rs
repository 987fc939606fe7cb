//! `scripts/package-plugin.sh` run for real: the frontend build, static musl
//! backends for amd64 and arm64 (built from this machine, whatever it is),
//! the zip with its LICENSE and its checksum. Every binary is read back from
//! the zip and checked here, independently of the script's own checks.
//!
//! The first run installs the Rust musl targets, zig and cargo-zigbuild and
//! compiles two release builds: minutes. A missing tool fails the test with
//! its name; nothing is skipped.

use std::fs::File;
use std::path::Path;
use std::process::{Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const ID: &str = "vllm-grafana-datasource";
const EXE: &str = "gpx_vllm";
/// Two fresh release builds on a 2-core machine take well under this.
const PACKAGE_TIMEOUT: Duration = Duration::from_secs(45 * 60);

const EM_X86_64: u16 = 62;
const EM_AARCH64: u16 = 183;
const PT_INTERP: u32 = 3;

fn require_tools(tools: &[&str]) {
    for tool in tools {
        let found = Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {tool}"))
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            found,
            "{tool} is required to package the plugin (.ci/run installs it)"
        );
    }
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("command starts");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The last `n` lines of a log file, for a failure message.
fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn wait_with_deadline(child: &mut std::process::Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The e_machine of a static little-endian ELF64 executable, or why it is
/// not one. Static means no PT_INTERP program header: a static-pie binary
/// has PT_DYNAMIC but no interpreter, and starts without a loader.
fn static_elf_machine(bin: &[u8]) -> Result<u16, String> {
    let bytes = |at: usize, n: usize| {
        bin.get(at..at + n)
            .ok_or_else(|| format!("truncated at byte {at}"))
    };
    let u16_at = |at| bytes(at, 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |at| bytes(at, 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let u64_at = |at| bytes(at, 8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")));
    if bytes(0, 4)? != b"\x7fELF" {
        return Err("not an ELF file".into());
    }
    if bytes(4, 2)? != [2, 1] {
        return Err("not a 64-bit little-endian ELF file".into());
    }
    let e_type = u16_at(16)?;
    if e_type != 2 && e_type != 3 {
        return Err(format!("ELF type {e_type} is not an executable"));
    }
    let phoff = usize::try_from(u64_at(32)?).map_err(|e| e.to_string())?;
    let phentsize = usize::from(u16_at(54)?);
    let phnum = usize::from(u16_at(56)?);
    if phnum == 0 {
        return Err("no program headers".into());
    }
    for i in 0..phnum {
        if u32_at(phoff + i * phentsize)? == PT_INTERP {
            return Err("dynamically linked (it has an ELF interpreter)".into());
        }
    }
    u16_at(18)
}

#[test]
fn elf_check_rejects_a_dynamic_executable_and_a_script() {
    // This test executable is a dynamically linked build for the host.
    let me = std::fs::read(std::env::current_exe().expect("current exe")).expect("read");
    assert_eq!(
        static_elf_machine(&me),
        Err("dynamically linked (it has an ELF interpreter)".into())
    );
    assert_eq!(
        static_elf_machine(b"#!/bin/sh\nexit 0\n"),
        Err("not an ELF file".into())
    );
    assert_eq!(
        static_elf_machine(b"\x7fELF\x02\x01"),
        Err("truncated at byte 16".into())
    );
}

#[test]
fn build_plugin_refuses_an_unknown_architecture_in_one_line() {
    for args in [
        &["--arch", "sparc"][..],
        &["--arch", "amd64", "--arch", "x86"],
    ] {
        let out = Command::new("bash")
            .arg(Path::new(ROOT).join("scripts/build-plugin.sh"))
            .args(args)
            .output()
            .expect("bash runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        let bogus = args[args.len() - 1];
        assert_eq!(
            stderr.trim_end(),
            format!("build-plugin: unknown architecture \"{bogus}\" (expected amd64 or arm64)"),
            "{args:?}"
        );
    }
}

#[test]
fn package_plugin_zips_static_musl_binaries_for_amd64_and_arm64() {
    require_tools(&[
        "bash",
        "node",
        "npm",
        "zip",
        "unzip",
        "sha256sum",
        "cargo",
        "python3",
    ]);
    let out_dir = tempfile::tempdir().expect("temp dir");
    let log = out_dir.path().join("package.log");
    let mut child = Command::new("bash")
        .arg(Path::new(ROOT).join("scripts/package-plugin.sh"))
        .current_dir(ROOT)
        .env("OUT_DIR", out_dir.path())
        .stdin(Stdio::null())
        .stdout(File::create(&log).expect("log"))
        .stderr(File::create(&log).expect("log"))
        .spawn()
        .expect("bash runs");
    let status = wait_with_deadline(&mut child, PACKAGE_TIMEOUT);
    assert!(
        status.is_some_and(|s| s.success()),
        "scripts/package-plugin.sh {}:\n{}",
        status.map_or("timed out".to_string(), |s| s.to_string()),
        tail(&log, 40)
    );

    let name = format!("{ID}-{}.zip", env!("CARGO_PKG_VERSION"));
    let zip = out_dir.path().join(&name);
    assert!(zip.is_file(), "{} is missing", zip.display());

    // The checksum file is `sha256sum` output for the zip, by its bare name.
    let sum_file = out_dir.path().join(format!("{name}.sha256"));
    let recorded = std::fs::read_to_string(&sum_file).expect("the .sha256 file beside the zip");
    let actual = run(Command::new("sha256sum").arg(&zip)).stdout;
    let actual = String::from_utf8_lossy(&actual);
    let hex = actual.split_whitespace().next().expect("a digest");
    assert_eq!(hex.len(), 64, "{actual}");
    assert_eq!(recorded, format!("{hex}  {name}\n"));
    run(Command::new("sha256sum")
        .args(["--quiet", "-c"])
        .arg(&sum_file)
        .current_dir(out_dir.path()));

    let listing = run(Command::new("unzip").arg("-Z1").arg(&zip)).stdout;
    let listing = String::from_utf8_lossy(&listing);
    let entries: Vec<&str> = listing.lines().collect();
    for file in [
        "LICENSE",
        "plugin.json",
        "module.js",
        "README.md",
        "CHANGELOG.md",
        "gpx_vllm_linux_amd64",
        "gpx_vllm_linux_arm64",
    ] {
        let path = format!("{ID}/{file}");
        assert!(
            entries.contains(&path.as_str()),
            "{path} not in {entries:?}"
        );
    }
    let unzip_p = |file: &str| {
        run(Command::new("unzip")
            .arg("-p")
            .arg(&zip)
            .arg(format!("{ID}/{file}")))
        .stdout
    };

    let license = std::fs::read(Path::new(ROOT).join("LICENSE")).expect("LICENSE at the root");
    assert_eq!(
        unzip_p("LICENSE"),
        license,
        "the packaged LICENSE is the repository's"
    );

    let meta: serde_json::Value =
        serde_json::from_slice(&unzip_p("plugin.json")).expect("plugin.json");
    let updated = meta["info"]["updated"].as_str().unwrap_or_default();
    let is_date = updated.len() == 10
        && updated.char_indices().all(|(i, c)| {
            if i == 4 || i == 7 {
                c == '-'
            } else {
                c.is_ascii_digit()
            }
        });
    assert!(
        is_date,
        "info.updated is {:?}, not YYYY-MM-DD",
        meta["info"]["updated"]
    );

    for (arch, machine) in [("amd64", EM_X86_64), ("arm64", EM_AARCH64)] {
        let bin = unzip_p(&format!("{EXE}_linux_{arch}"));
        assert_eq!(
            static_elf_machine(&bin),
            Ok(machine),
            "{EXE}_linux_{arch} ({} bytes)",
            bin.len()
        );
    }
}
