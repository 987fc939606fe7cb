//! What `check` says about an NVIDIA DCGM exporter endpoint: how many GPUs,
//! which model, and how busy, full, hot and power-hungry they are.

use crate::catalog::dcgm::{self, labels};
use crate::catalog::names;
use crate::exposition::{Exposition, Sample};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// One GPU as the exporter reports it.
#[derive(Debug, Default, Serialize)]
pub struct GpuReport {
    pub gpu: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Pods using the GPU (Kubernetes pod mapping), as `namespace/pod`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pods: Vec<String>,
    pub utilization_percent: Option<f64>,
    pub sm_active: Option<f64>,
    pub fb_used_mib: Option<f64>,
    pub fb_free_mib: Option<f64>,
    pub temperature_c: Option<f64>,
    pub power_w: Option<f64>,
    /// The last XID error (0: none).
    pub last_xid: Option<f64>,
}

/// A DCGM exporter endpoint in a few numbers.
#[derive(Debug, Default, Serialize)]
pub struct DcgmReport {
    /// GPUs reported (distinct UUIDs, else distinct `gpu` indices per host).
    pub gpu_count: usize,
    /// Distinct `modelName` values.
    pub models: Vec<String>,
    pub hostnames: Vec<String>,
    /// Mean GPU utilisation in percent over the GPUs that report it.
    pub utilization_percent_avg: Option<f64>,
    pub fb_used_mib: Option<f64>,
    pub fb_free_mib: Option<f64>,
    /// Hottest GPU.
    pub temperature_c_max: Option<f64>,
    pub power_w_total: Option<f64>,
    /// Families of the catalog's DCGM list present in the scrape.
    pub known_families: usize,
    pub gpus: Vec<GpuReport>,
}

/// Does the scrape come from a DCGM exporter (any `DCGM_FI_`/`DCGM_EXP_` family)?
pub fn is_dcgm(exp: &Exposition<'_>) -> bool {
    exp.families.iter().any(|f| dcgm::is_dcgm_name(f.name))
}

/// The GPU a sample belongs to: its UUID, else host and index.
fn gpu_key(s: &Sample<'_>) -> Option<String> {
    if let Some(uuid) = s.label(labels::UUID).or_else(|| s.label("uuid")) {
        return Some(uuid.to_string());
    }
    let gpu = s.label(labels::GPU)?;
    let host = hostname(s).unwrap_or("");
    Some(format!("{host}/{gpu}"))
}

fn hostname<'s>(s: &'s Sample<'_>) -> Option<&'s str> {
    s.label(labels::HOSTNAME)
        .or_else(|| s.label(labels::HOSTNAME_NEW))
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (n, sum) = values.fold((0usize, 0.0), |(n, s), v| (n + 1, s + v));
    (n > 0).then(|| sum / n as f64)
}

fn sum(values: impl Iterator<Item = f64>) -> Option<f64> {
    values.reduce(|a, b| a + b)
}

/// Summarise a DCGM exporter's scrape. With pod mapping a shared GPU appears
/// once per pod; its numbers are counted once.
pub fn dcgm_report(exp: &Exposition<'_>) -> DcgmReport {
    let mut gpus: BTreeMap<String, GpuReport> = BTreeMap::new();
    let mut pods: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut known = 0;
    for family in exp.families.iter().filter(|f| dcgm::is_dcgm_name(f.name)) {
        if dcgm::lookup(family.name).is_some() {
            known += 1;
        }
        for s in &family.samples {
            let Some(key) = gpu_key(s) else { continue };
            let g = gpus.entry(key).or_insert_with(|| GpuReport {
                gpu: s.label(labels::GPU).unwrap_or("?").to_string(),
                uuid: s
                    .label(labels::UUID)
                    .or_else(|| s.label("uuid"))
                    .map(str::to_string),
                model: s.label(labels::MODEL_NAME).map(str::to_string),
                hostname: hostname(s).map(str::to_string),
                ..GpuReport::default()
            });
            if let Some(pod) = s.label(labels::POD).filter(|p| !p.is_empty()) {
                let ns = s.label(labels::NAMESPACE).unwrap_or("");
                pods.entry(gpu_key(s).unwrap_or_default())
                    .or_default()
                    .insert(format!("{ns}/{pod}"));
            }
            if s.value.is_nan() {
                continue;
            }
            let slot = match family.name {
                names::DCGM_GPU_UTIL => &mut g.utilization_percent,
                names::DCGM_SM_ACTIVE => &mut g.sm_active,
                names::DCGM_FB_USED => &mut g.fb_used_mib,
                names::DCGM_FB_FREE => &mut g.fb_free_mib,
                names::DCGM_GPU_TEMP => &mut g.temperature_c,
                names::DCGM_POWER_USAGE => &mut g.power_w,
                names::DCGM_XID_ERRORS => &mut g.last_xid,
                _ => continue,
            };
            *slot = Some(slot.map_or(s.value, |v: f64| v.max(s.value)));
        }
    }
    for (key, set) in pods {
        if let Some(g) = gpus.get_mut(&key) {
            g.pods = set.into_iter().collect();
        }
    }
    let mut gpus: Vec<GpuReport> = gpus.into_values().collect();
    // Host by host, in index order (`gpu` is a number on every exporter).
    gpus.sort_by(|a, b| {
        let index = |g: &GpuReport| g.gpu.parse::<u64>().unwrap_or(u64::MAX);
        (&a.hostname, index(a), &a.uuid).cmp(&(&b.hostname, index(b), &b.uuid))
    });
    let distinct = |f: fn(&GpuReport) -> Option<&String>| {
        gpus.iter()
            .filter_map(f)
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
    };
    DcgmReport {
        gpu_count: gpus.len(),
        models: distinct(|g| g.model.as_ref()),
        hostnames: distinct(|g| g.hostname.as_ref()),
        utilization_percent_avg: mean(gpus.iter().filter_map(|g| g.utilization_percent)),
        fb_used_mib: sum(gpus.iter().filter_map(|g| g.fb_used_mib)),
        fb_free_mib: sum(gpus.iter().filter_map(|g| g.fb_free_mib)),
        temperature_c_max: gpus.iter().filter_map(|g| g.temperature_c).reduce(f64::max),
        power_w_total: sum(gpus.iter().filter_map(|g| g.power_w)),
        known_families: known,
        gpus,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::{parse, Mode};

    #[test]
    fn shared_gpus_count_once_and_keep_their_pods() {
        let text = format!(
            "# TYPE {u} gauge\n\
             {u}{{gpu=\"10\",UUID=\"GPU-c\",modelName=\"M\",Hostname=\"h\"}} 60\n\
             {u}{{gpu=\"0\",UUID=\"GPU-a\",modelName=\"M\",Hostname=\"h\",namespace=\"ns\",pod=\"p1\"}} 40\n\
             {u}{{gpu=\"0\",UUID=\"GPU-a\",modelName=\"M\",Hostname=\"h\",namespace=\"ns\",pod=\"p2\"}} 40\n\
             {u}{{gpu=\"1\",UUID=\"GPU-b\",modelName=\"M\",hostname=\"h\"}} 80\n\
             # TYPE {f} gauge\n\
             {f}{{gpu=\"0\",UUID=\"GPU-a\"}} 1000\n\
             {f}{{gpu=\"1\",UUID=\"GPU-b\"}} 3000\n",
            u = names::DCGM_GPU_UTIL,
            f = names::DCGM_FB_USED,
        );
        let exp = parse(&text, Mode::Strict).expect("parse");
        assert!(is_dcgm(&exp));
        let r = dcgm_report(&exp);
        assert_eq!(r.gpu_count, 3);
        assert_eq!(r.models, ["M"]);
        assert_eq!(r.hostnames, ["h"], "both spellings of the host label");
        assert_eq!(r.utilization_percent_avg, Some(60.0));
        assert_eq!(r.fb_used_mib, Some(4000.0));
        assert_eq!(r.gpus[0].pods, ["ns/p1", "ns/p2"]);
        let order: Vec<&str> = r.gpus.iter().map(|g| g.gpu.as_str()).collect();
        assert_eq!(order, ["0", "1", "10"], "numeric index order");
        assert_eq!(r.known_families, 2);
    }

    #[test]
    fn vllm_text_is_not_dcgm() {
        let text = format!("# TYPE {n} gauge\n{n} 1\n", n = names::NUM_REQUESTS_RUNNING);
        let exp = parse(&text, Mode::Strict).expect("parse");
        assert!(!is_dcgm(&exp));
    }
}
