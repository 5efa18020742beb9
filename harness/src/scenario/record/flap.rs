//! A `flap` step's record: what was set when, and whether HAProxy followed.

use std::net::Ipv4Addr;

use serde::Serialize;

/// One flip: the set put in place, when, and when HAProxy's server took it (with `follow`).
#[derive(Debug, Clone, Serialize)]
pub struct Flip {
    pub at_ms: u64,
    pub addrs: Vec<Ipv4Addr>,
    /// Since the case started; `None`: not followed within the interval (or no `follow`).
    pub followed_ms: Option<u64>,
    /// The server as last seen in the interval (with `follow`).
    pub seen: Option<String>,
}

/// A `flap` step's record.
#[derive(Debug, Clone, Serialize)]
pub struct FlapLog {
    pub name: String,
    pub follow: Option<String>,
    pub flips: Vec<Flip>,
    /// When `until` held (it ended the flapping).
    pub until_met_ms: Option<u64>,
}

impl FlapLog {
    /// The values a `value` measure may read.
    pub const VALUES: [&'static str; 3] = ["flips", "followed", "until_met"];

    pub fn value(&self, name: &str) -> Option<f64> {
        Some(match name {
            "flips" => self.flips.len() as f64,
            "followed" => self
                .flips
                .iter()
                .filter(|f| f.followed_ms.is_some())
                .count() as f64,
            "until_met" => f64::from(u8::from(self.until_met_ms.is_some())),
            _ => return None,
        })
    }
}
