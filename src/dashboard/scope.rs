//! A deployment's scoping applied to a finished dashboard: every query,
//! legend, variable and field name that refers to the instance label.

use super::model::{Dashboard, Panel, PanelItem, TransformationOptions, VariableKind};
use crate::promql::Scoping;
use std::collections::BTreeMap;

/// `d` with [`Scoping`] applied; the default scoping returns it unchanged.
pub fn scoped(mut d: Dashboard, scoping: &Scoping) -> Dashboard {
    if scoping.is_default() {
        return d;
    }
    for v in &mut d.templating.list {
        if v.kind == VariableKind::Query {
            v.query = scoping.expr(&v.query);
            v.definition = v.definition.as_deref().map(|q| scoping.expr(q));
        }
    }
    for item in &mut d.panels {
        match item {
            PanelItem::Panel(p) => panel(p, scoping),
            PanelItem::Row(r) => r.panels.iter_mut().for_each(|p| panel(p, scoping)),
        }
    }
    d
}

fn panel(p: &mut Panel, scoping: &Scoping) {
    for t in &mut p.targets {
        t.expr = scoping.expr(&t.expr);
        t.legend_format = scoping.text(&t.legend_format);
    }
    for o in &mut p.field_config.overrides {
        o.matcher.options = scoping.label(&o.matcher.options);
    }
    for t in &mut p.transformations {
        if let TransformationOptions::Organize(o) = &mut t.options {
            rename_keys(&mut o.exclude_by_name, scoping);
            rename_keys(&mut o.index_by_name, scoping);
            rename_keys(&mut o.rename_by_name, scoping);
        }
    }
}

fn rename_keys<V>(map: &mut BTreeMap<String, V>, scoping: &Scoping) {
    *map = std::mem::take(map)
        .into_iter()
        .map(|(k, v)| (scoping.label(&k), v))
        .collect();
}
