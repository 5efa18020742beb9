//! An SRV record's target, as the topology's records and the `dns` step write it.

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SrvSpec {
    /// A role; the SRV target becomes `<role>.<zone>` and gets an A record.
    pub target: Spanned<String>,
    pub port: u16,
    #[serde(default)]
    pub priority: u16,
    #[serde(default = "default_weight")]
    pub weight: u16,
}

fn default_weight() -> u16 {
    10
}
