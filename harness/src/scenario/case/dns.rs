//! SRV records whose targets are roles of the case.

use crate::dns::SrvTarget;
use crate::scenario::model::srv::SrvSpec;

use super::state::CaseState;

/// Sets an SRV record whose targets are roles, with an A record for each target name.
pub(crate) fn set_srv(
    state: &CaseState<'_>,
    zone: &crate::dns::Zone,
    name: &str,
    srv: &[SrvSpec],
) -> Result<(), String> {
    let origin = zone.origin();
    let mut targets = Vec::new();
    for s in srv {
        let role = s.target.get_ref();
        let target = format!("{role}.{origin}");
        zone.set_a(&target, vec![state.role_ip(role)?]);
        targets.push(SrvTarget {
            priority: s.priority,
            weight: s.weight,
            port: s.port,
            target,
        });
    }
    zone.set_srv(name, targets);
    Ok(())
}
