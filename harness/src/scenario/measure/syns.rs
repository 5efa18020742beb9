//! `syns = { from = "haproxy", dst_port = 0 }`: SYNs in the captures matching this.


use super::word::{count, join, Cx, MeasureWord};
use crate::scenario::evidence::Evidence;
use crate::scenario::model::syn::syn_matches;
pub use crate::scenario::model::syn::SynMatch;

impl MeasureWord for SynMatch {
    fn check(&self, cx: &mut Cx<'_, '_, '_>) {
        let field = cx.field.clone();
        if let Some(from) = &self.from {
            cx.role(from, &format!("{field}.from"));
        }
        if let Some(to) = &self.to {
            cx.role(to, &format!("{field}.to"));
        }
        match &self.from {
            Some(from) if !cx.flow.captured.contains(from.get_ref()) => cx.error_here_at(
                from.span(),
                format!(
                    "no capture takes {0}'s SYNs: add `capture = {{ syn_from = {0:?} }}` to [topology] (or a capture step)",
                    from.get_ref()
                ),
            ),
            None if cx.flow.captured.is_empty() => cx.error_here(
                "no capture runs in this case: add `capture = { syn_from = \"haproxy\" }` to [topology]",
            ),
            _ => {}
        }
    }

    /// Over every capture that took the role's SYNs; an error when no such capture ran or one
    /// of them is incomplete.
    fn compute(&self, ev: &Evidence) -> Result<f64, String> {
        let from = self.from.as_ref().map(|f| f.get_ref().as_str());
        let runs: Vec<_> = ev
            .captures
            .iter()
            .filter(|c| from.is_none_or(|f| c.role == f))
            .collect();
        if runs.is_empty() {
            return Err(match from {
                Some(f) => format!(
                    "no capture of {f}'s SYNs ran (captures: {}); add `capture = {{ syn_from = {f:?} }}` to [topology]",
                    join(ev.captures.iter().map(|c| c.role.as_str()))
                ),
                None => "no capture ran in this case".into(),
            });
        }
        if let Some((role, problem)) = runs
            .iter()
            .find_map(|c| c.problem.as_ref().map(|p| (&c.role, p)))
        {
            return Err(format!(
                "the capture of {role}'s SYNs is incomplete: {problem}"
            ));
        }
        count(
            runs.iter()
                .flat_map(|c| &c.syns)
                .filter(|s| syn_matches(&ev.ips, self, s))
                .count(),
        )
    }
}
