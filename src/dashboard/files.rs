//! Rendering dashboards to JSON files and checking committed files are current.

use super::{all, all_for, Dashboard, DatasourceFlavor, Deployment};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    #[error("cannot create {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{} {} in {}: {}; regenerate with `vllm-grafana dashboard --datasource {flavor} --out {}`",
        problems.len(),
        if problems.len() == 1 { "dashboard file is out of date" } else { "dashboard files are out of date" },
        dir.display(),
        problems.join(", "),
        dir.display()
    )]
    OutOfDate {
        dir: PathBuf,
        flavor: DatasourceFlavor,
        /// One entry per file, e.g. `vllm-overview.json (differs)`.
        problems: Vec<String>,
    },
}

/// Pretty JSON with a trailing newline; the same dashboard always renders
/// to the same bytes.
pub fn render(d: &Dashboard) -> String {
    // The model has no maps with non-string keys, the only way serde_json
    // can fail on a value.
    let mut out = serde_json::to_string_pretty(d).expect("dashboard model serialises to JSON");
    out.push('\n');
    out
}

/// The same JSON without indentation (for size-limited carriers such as
/// Kubernetes objects).
pub fn render_compact(d: &Dashboard) -> String {
    let mut out = serde_json::to_string(d).expect("dashboard model serialises to JSON");
    out.push('\n');
    out
}

/// The file names of every dashboard of every flavour.
pub fn file_names() -> Vec<String> {
    DatasourceFlavor::ALL
        .iter()
        .flat_map(|f| all(*f).into_iter().map(|(name, _)| name))
        .collect()
}

/// Writes every dashboard of `flavor` into `dir` (created if missing) and
/// returns the paths written.
pub fn write_all(
    dir: &Path,
    flavor: DatasourceFlavor,
    deployment: &Deployment,
) -> Result<Vec<PathBuf>, DashboardError> {
    std::fs::create_dir_all(dir).map_err(|source| DashboardError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })?;
    all_for(flavor, deployment)
        .into_iter()
        .map(|(name, d)| {
            let path = dir.join(name);
            std::fs::write(&path, render(&d)).map_err(|source| DashboardError::Write {
                path: path.clone(),
                source,
            })?;
            Ok(path)
        })
        .collect()
}

/// Checks that `dir` holds every dashboard of `flavor` exactly as
/// [`render`] produces it, and no `.json` file that no flavour generates.
pub fn check_all(
    dir: &Path,
    flavor: DatasourceFlavor,
    deployment: &Deployment,
) -> Result<(), DashboardError> {
    let mut problems = Vec::new();
    for (name, d) in all_for(flavor, deployment) {
        let path = dir.join(&name);
        match std::fs::read_to_string(&path) {
            Ok(text) if text == render(&d) => {}
            Ok(_) => problems.push(format!("{name} (differs)")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                problems.push(format!("{name} (missing)"))
            }
            Err(source) => return Err(DashboardError::Read { path, source }),
        }
    }
    let known = file_names();
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut stray: Vec<String> = entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".json") && !known.contains(n))
            .collect();
        stray.sort();
        problems.extend(stray.into_iter().map(|n| format!("{n} (not generated)")));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(DashboardError::OutOfDate {
            dir: dir.to_path_buf(),
            flavor,
            problems,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::overview;

    #[test]
    fn render_is_stable_and_ends_with_a_newline() {
        let d = overview(DatasourceFlavor::Prometheus);
        let a = render(&d);
        assert!(a.ends_with("}\n"));
        assert_eq!(a, render(&overview(DatasourceFlavor::Prometheus)));
    }

    #[test]
    fn check_reports_missing_changed_and_stray_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let flavor = DatasourceFlavor::Prometheus;
        let err = check_all(dir.path(), flavor, &Deployment::default()).expect_err("empty dir");
        assert!(
            err.to_string().contains("vllm-overview.json (missing)"),
            "{err}"
        );

        let written = write_all(dir.path(), flavor, &Deployment::default()).expect("write");
        assert_eq!(written.len(), all(flavor).len());
        check_all(dir.path(), flavor, &Deployment::default()).expect("fresh files pass");

        std::fs::write(&written[0], "{}\n").expect("edit");
        std::fs::write(dir.path().join("old.json"), "{}\n").expect("stray");
        let msg = check_all(dir.path(), flavor, &Deployment::default())
            .expect_err("edited")
            .to_string();
        assert!(msg.contains("vllm-overview.json (differs)"), "{msg}");
        assert!(msg.contains("old.json (not generated)"), "{msg}");
        assert!(msg.contains("--datasource prometheus"), "{msg}");
    }
}
