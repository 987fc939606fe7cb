//! Places panels on Grafana's 24-column grid, left to right, wrapping to a
//! new line when a panel does not fit, and numbers them in order.

use super::build::PanelSpec;
use super::model::{DataSourceRef, GridPos, Panel, PanelItem, Row, RowKind};

/// Width of the dashboard grid.
pub const GRID_WIDTH: u32 = 24;

pub(super) struct Layout {
    datasource: DataSourceRef,
    items: Vec<PanelItem>,
    /// A collapsed row keeps its panels until the next row starts.
    open_collapsed: Option<Row>,
    next_id: u32,
    x: u32,
    y: u32,
    line_height: u32,
}

impl Layout {
    pub fn new(datasource: DataSourceRef) -> Layout {
        Layout {
            datasource,
            items: Vec::new(),
            open_collapsed: None,
            next_id: 1,
            x: 0,
            y: 0,
            line_height: 0,
        }
    }

    fn take_id(&mut self) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn end_line(&mut self) {
        self.y += self.line_height;
        self.x = 0;
        self.line_height = 0;
    }

    fn close_collapsed(&mut self) {
        if let Some(row) = self.open_collapsed.take() {
            // A collapsed row takes one grid line; its panels keep the places
            // they get when it is expanded.
            self.y = row.grid_pos.y + 1;
            self.x = 0;
            self.line_height = 0;
            self.items.push(PanelItem::Row(row));
        }
    }

    /// Starts a row; panels added next belong to it.
    pub fn row(&mut self, title: &str, collapsed: bool) {
        self.close_collapsed();
        self.end_line();
        let row = Row {
            kind: RowKind::Row,
            id: self.take_id(),
            title: title.to_string(),
            collapsed,
            grid_pos: GridPos {
                h: 1,
                w: GRID_WIDTH,
                x: 0,
                y: self.y,
            },
            panels: Vec::new(),
        };
        self.y += 1;
        if collapsed {
            self.open_collapsed = Some(row);
        } else {
            self.items.push(PanelItem::Row(row));
        }
    }

    pub fn add(&mut self, spec: PanelSpec) {
        let w = spec.width.clamp(1, GRID_WIDTH);
        if self.x + w > GRID_WIDTH {
            self.end_line();
        }
        let pos = GridPos {
            h: spec.height,
            w,
            x: self.x,
            y: self.y,
        };
        self.x += w;
        self.line_height = self.line_height.max(spec.height);
        let id = self.take_id();
        let panel: Panel = spec.build(id, pos, &self.datasource);
        match &mut self.open_collapsed {
            Some(row) => row.panels.push(panel),
            None => self.items.push(PanelItem::Panel(Box::new(panel))),
        }
    }

    pub fn finish(mut self) -> Vec<PanelItem> {
        self.close_collapsed();
        self.items
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promql::Expr;

    fn spec(w: u32) -> PanelSpec {
        PanelSpec::timeseries("p", w).query(Expr::num(1.0), "x")
    }

    #[test]
    fn panels_wrap_and_rows_start_new_lines() {
        let mut l = Layout::new(DataSourceRef {
            kind: "prometheus".into(),
            uid: "${datasource}".into(),
        });
        l.row("first", false);
        l.add(spec(12));
        l.add(spec(12));
        l.add(spec(16));
        l.row("second", true);
        l.add(spec(24));
        let items = l.finish();
        let pos: Vec<(u32, GridPos)> = items
            .iter()
            .map(|i| match i {
                PanelItem::Panel(p) => (p.id, p.grid_pos),
                PanelItem::Row(r) => (r.id, r.grid_pos),
            })
            .collect();
        assert_eq!(
            pos[0].1,
            GridPos {
                h: 1,
                w: 24,
                x: 0,
                y: 0
            }
        );
        assert_eq!(
            pos[1].1,
            GridPos {
                h: 8,
                w: 12,
                x: 0,
                y: 1
            }
        );
        assert_eq!(
            pos[2].1,
            GridPos {
                h: 8,
                w: 12,
                x: 12,
                y: 1
            }
        );
        assert_eq!(
            pos[3].1,
            GridPos {
                h: 8,
                w: 16,
                x: 0,
                y: 9
            }
        );
        assert_eq!(pos[4].1.y, 17);
        let PanelItem::Row(collapsed) = &items[4] else {
            panic!("expected the collapsed row last");
        };
        assert!(collapsed.collapsed);
        assert_eq!(collapsed.panels[0].grid_pos.y, 18);
        let ids: Vec<u32> = pos.iter().map(|p| p.0).collect();
        assert_eq!(ids, vec![1, 2, 3, 4, 5]);
        assert_eq!(collapsed.panels[0].id, 6);
    }
}
