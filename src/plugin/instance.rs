//! Per-datasource state, keyed by org and uid and rebuilt when Grafana says
//! the settings changed (`lastUpdatedMS`). The SDK keeps no such cache.

use super::backend::QueryBackend;
use super::direct::DirectBackend;
use super::prometheus::PrometheusBackend;
use super::settings::{Mode, RawSettings, Settings, SettingsError};
use grafana_plugin_sdk::pluginv2;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A configured datasource: its settings and the backend serving it.
pub struct Instance {
    updated_ms: i64,
    /// The settings, or why they are invalid (reported by every call).
    pub state: Result<Ready, SettingsError>,
}

/// A datasource whose settings are valid.
pub struct Ready {
    pub settings: Settings,
    pub backend: Arc<dyn QueryBackend>,
}

impl Instance {
    fn build(raw: &pluginv2::DataSourceInstanceSettings) -> Instance {
        let state = Settings::parse(&RawSettings::from(raw)).and_then(|settings| {
            let backend: Arc<dyn QueryBackend> = match settings.mode {
                Mode::Prometheus => Arc::new(PrometheusBackend::new(&settings)?),
                Mode::Direct => Arc::new(DirectBackend::new(&settings)?),
            };
            Ok(Ready { settings, backend })
        });
        Instance {
            updated_ms: raw.last_updated_ms,
            state,
        }
    }
}

/// Why a request cannot be tied to a datasource.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the request carries no datasource settings: this plugin serves datasources only")]
pub struct NoDatasource;

#[derive(Default)]
pub struct Instances {
    by_key: Mutex<HashMap<(i64, String), Arc<Instance>>>,
}

impl Instances {
    /// The instance for a request's plugin context, built or rebuilt as needed.
    pub fn get(
        &self,
        ctx: Option<&pluginv2::PluginContext>,
    ) -> Result<Arc<Instance>, NoDatasource> {
        let ctx = ctx.ok_or(NoDatasource)?;
        let raw = ctx
            .data_source_instance_settings
            .as_ref()
            .ok_or(NoDatasource)?;
        // Grafana before 8.3 sent no uid: fall back to the numeric id.
        let uid = if raw.uid.is_empty() {
            format!("#{}", raw.id)
        } else {
            raw.uid.clone()
        };
        let key = (ctx.org_id, uid);
        let mut map = self
            .by_key
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(existing) = map.get(&key) {
            if existing.updated_ms == raw.last_updated_ms {
                return Ok(Arc::clone(existing));
            }
        }
        // Building is cheap (no I/O): holding the lock keeps one instance per key.
        let fresh = Arc::new(Instance::build(raw));
        map.insert(key, Arc::clone(&fresh));
        Ok(fresh)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.by_key.lock().map(|m| m.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(uid: &str, updated: i64, url: &str) -> pluginv2::PluginContext {
        pluginv2::PluginContext {
            org_id: 1,
            plugin_id: "vllm-grafana-datasource".into(),
            user: None,
            app_instance_settings: None,
            data_source_instance_settings: Some(pluginv2::DataSourceInstanceSettings {
                uid: uid.into(),
                url: url.into(),
                last_updated_ms: updated,
                ..Default::default()
            }),
        }
    }

    #[test]
    fn instances_are_cached_per_uid_and_rebuilt_on_update() {
        let cache = Instances::default();
        let a1 = cache.get(Some(&ctx("a", 1, "http://p:9090"))).expect("a");
        let a1_again = cache.get(Some(&ctx("a", 1, "http://p:9090"))).expect("a");
        assert!(Arc::ptr_eq(&a1, &a1_again));
        let a2 = cache.get(Some(&ctx("a", 2, ""))).expect("a updated");
        assert!(!Arc::ptr_eq(&a1, &a2));
        assert!(a1.state.is_ok());
        assert!(a2.state.is_err(), "the new settings have no URL");
        cache.get(Some(&ctx("b", 1, "http://q:9090"))).expect("b");
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get(None).err(), Some(NoDatasource));
    }
}
