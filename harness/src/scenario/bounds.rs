//! Upper bounds on every count and duration a scenario file may ask for, checked at load: a
//! typo (`count = 20000000`, `within = "5h"`) is an error with its line, never a case that
//! floods the machine or never ends. docs/writing-scenarios.md lists them ("Deadlines and
//! bounds"); each step word's `check` applies those of its fields.

use std::time::Duration;

/// How many times a case may repeat (`repeat`).
pub const REPEAT: u32 = 100;
/// Requests of one `http` step.
pub const HTTP_COUNT: u32 = 10_000;
/// Connections of one `tcp` step.
pub const TCP_CONNECTS: u32 = 10_000;
/// New short connections per second of a `sessions` step.
pub const CHURN: u32 = 1_000;
/// Connections a `unix` step holds, or opens without waiting.
pub const UNIX_CONNECTIONS: u32 = 1_000;
/// Commands of one `unix` step (`repeat`).
pub const UNIX_REPEAT: u32 = 1_000;
/// Bytes of answer a `unix` step reads before it aborts (`read_bytes`).
pub const READ_BYTES: usize = 16 << 20;
/// SYNs or servers a `wait` counts (`count`).
pub const WAIT_COUNT: u32 = 100_000;
/// Any one duration of a step (`within`, `timeout`, `until_answered`, a DNS delay).
pub const DURATION: Duration = Duration::from_secs(600);
/// A `sleep`.
pub const SLEEP: Duration = Duration::from_secs(300);
/// Sets a `flap` step puts in place in all (`times`).
pub const FLAP_TIMES: u32 = 10_000;
/// Address sets a `flap` step flaps between (`between`).
pub const FLAP_SETS: usize = 16;
/// The shortest interval of a `flap` step (`every`): below it the step outruns the DNS server's
/// own bookkeeping, and no resolver could follow anyway.
pub const FLAP_EVERY_MIN: Duration = Duration::from_millis(10);
/// A case's whole deadline (`deadline`).
pub const DEADLINE: Duration = Duration::from_secs(3600);
