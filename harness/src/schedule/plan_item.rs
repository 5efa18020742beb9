//! A case's item in a matrix's plan: what `plan.json` lists and each record keeps
//! (`provenance.planned.item`), so `report merge` finds the cases a run never ended and the
//! map finds each version's outcome.

use std::fmt;

/// `scenario[/variant]@<--versions item>`, with ` rK` for the K-th run of `--repeat`. The
/// version is the item as given (`3.0`, `v3.1-dev4`, `haproxy:3.2`), not the version HAProxy
/// reports: the plan is written before any image is resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanItem {
    /// The matrix's row: `scenario` or `scenario/variant` (see [`crate::case_id::row`]).
    pub row: String,
    pub version: String,
    /// K, for the K-th of `--repeat N` runs (N > 1).
    pub run: Option<usize>,
}

impl PlanItem {
    /// The item of `row` on `version`, the `k`-th of `repeat` runs (a plain item for one run).
    pub fn new(row: &str, version: &str, k: usize, repeat: usize) -> PlanItem {
        PlanItem {
            row: row.to_string(),
            version: version.to_string(),
            run: (repeat > 1).then_some(k),
        }
    }

    /// Reads back an item a record or a plan holds; `None` for a text that is none. The one
    /// place an item is cut into its parts.
    pub fn parse(item: &str) -> Option<PlanItem> {
        let (row, rest) = item.split_once('@')?;
        let (version, run) = match rest.split_once(' ') {
            Some((version, run)) => (version, run.strip_prefix('r').and_then(|k| k.parse().ok())),
            None => (rest, None),
        };
        Some(PlanItem {
            row: row.to_string(),
            version: version.to_string(),
            run,
        })
    }
}

impl fmt::Display for PlanItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.row, self.version)?;
        if let Some(k) = self.run {
            write!(f, " r{k}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_written_as_before_and_read_back() {
        let one = PlanItem::new("smoke", "3.0", 1, 1);
        assert_eq!(one.to_string(), "smoke@3.0");
        let third = PlanItem::new("s/v", "haproxy:3.2", 3, 20);
        assert_eq!(third.to_string(), "s/v@haproxy:3.2 r3");
        for item in [one, third, PlanItem::new("x", "v3.1-dev4", 1, 1)] {
            assert_eq!(PlanItem::parse(&item.to_string()), Some(item));
        }
        assert_eq!(PlanItem::parse("no item"), None);
        let odd = PlanItem::parse("s@3.0 x2").unwrap();
        assert_eq!((odd.version.as_str(), odd.run), ("3.0", None));
    }
}
