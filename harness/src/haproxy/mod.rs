//! Everything haprepro knows about talking to HAProxy: the runtime API client, typed parsers of
//! its answers, and HAProxy's version scheme.
//!
//! Scenario steps wait on what HAProxy reports (a server's RMAINT bit, a stick entry's server,
//! the streams left on a server), so the harness needs those answers as data, and must read them
//! from every version it runs: 2.2 to 3.4 print different columns and words. Each parser reads
//! by header name or `key=value` word where HAProxy gives one, types what scenarios use, and
//! keeps every other field in a map. Fixtures captured from real containers of each version
//! (`harness/tests/fixtures/haproxy/<version>/`) pin the formats.
//!
//! [`version`] is here because the true version of a case comes from HAProxy itself
//! (`haproxy -v`, `show info`), and scenarios' `[expect]` tables are keyed by [`VersionRange`].

pub mod api;
pub mod config;
pub mod info;
pub mod last_words;
mod parse;
pub mod peers;
pub mod proc;
pub mod servers_state;
pub mod sess;
pub mod stat;
pub mod table;
pub mod version;

#[cfg(test)]
pub(crate) mod fixtures;

pub use api::{ApiError, RuntimeApi, DEFAULT_TIMEOUT};
pub use info::Info;
pub use last_words::LastWords;
pub use parse::ParseError;
pub use peers::{Peer, PeersSection};
pub use proc::{Proc, ProcKind, ProcList};
pub use servers_state::{AdminState, OpState, ServerState};
pub use sess::Session;
pub use stat::StatRow;
pub use table::{Table, TableEntry};
pub use version::{HaproxyVersion, PreRelease, VersionError, VersionRange};
