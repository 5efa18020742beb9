//! `show servers state`: each server's operational and administrative state as numbers.
//!
//! This is the precise view scenarios wait on: `show stat` says `MAINT`, but only the
//! `srv_admin_state` bits say *why* (forced by an operator, inherited, or RMAINT: waiting for a
//! DNS resolution), and `srv_port` shows a port that DNS handling lost. The answer is a version
//! line (`1`), a `# be_id be_name ...` header and one line per server. 2.2 prints 20 columns;
//! 2.6 and later add `srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port`,
//! so rows are read by header name and every column stays in [`ServerState::fields`].

use std::collections::BTreeMap;
use std::fmt;

use super::parse::ParseError;

const COMMAND: &str = "show servers state";

/// `srv_op_state`: what the checks concluded (`SRV_ST_*` in HAProxy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OpState {
    /// 0: down (failed checks, or in maintenance).
    Stopped,
    /// 1: coming up (slowstart).
    Starting,
    /// 2: up.
    Running,
    /// 3: going down (soft-stop, draining).
    Stopping,
    /// A value this harness does not know; kept so a new HAProxy is reported, not rejected.
    Other(u8),
}

impl OpState {
    /// Maps the number HAProxy prints.
    pub fn from_code(code: u8) -> Self {
        match code {
            0 => Self::Stopped,
            1 => Self::Starting,
            2 => Self::Running,
            3 => Self::Stopping,
            n => Self::Other(n),
        }
    }
}

/// `srv_admin_state`: why a server is administratively out (`SRV_ADMF_*` bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(transparent)]
pub struct AdminState(pub u32);

impl AdminState {
    /// Forced into maintenance (`disable server`, `set server ... state maint`, `disabled`).
    pub const FMAINT: u32 = 0x01;
    /// Inherited maintenance from a tracked server.
    pub const IMAINT: u32 = 0x02;
    /// Maintenance comes from the configuration (`disabled` keyword); set together with FMAINT.
    pub const CMAINT: u32 = 0x04;
    /// Forced into drain.
    pub const FDRAIN: u32 = 0x08;
    /// Inherited drain from a tracked server.
    pub const IDRAIN: u32 = 0x10;
    /// Maintenance because its address could not be resolved (DNS).
    pub const RMAINT: u32 = 0x20;
    /// Its FQDN was set on the runtime API (not a maintenance state despite the name).
    pub const HMAINT: u32 = 0x40;
    /// HAProxy's own mask of the bits that take a server out of rotation.
    const ANY_MAINT: u32 = Self::FMAINT | Self::IMAINT | Self::RMAINT;
    const NAMES: [(u32, &'static str); 7] = [
        (Self::FMAINT, "FMAINT"),
        (Self::IMAINT, "IMAINT"),
        (Self::CMAINT, "CMAINT"),
        (Self::FDRAIN, "FDRAIN"),
        (Self::IDRAIN, "IDRAIN"),
        (Self::RMAINT, "RMAINT"),
        (Self::HMAINT, "HMAINT"),
    ];

    /// The raw bits.
    pub fn bits(self) -> u32 {
        self.0
    }

    /// Whether every bit of `mask` is set.
    pub fn contains(self, mask: u32) -> bool {
        self.0 & mask == mask
    }

    /// In maintenance for any reason (forced, inherited or resolution).
    pub fn maint(self) -> bool {
        self.0 & Self::ANY_MAINT != 0
    }

    /// Forced into maintenance by an operator or the configuration.
    pub fn forced_maint(self) -> bool {
        self.contains(Self::FMAINT)
    }

    /// Maintenance inherited from a tracked server.
    pub fn inherited_maint(self) -> bool {
        self.contains(Self::IMAINT)
    }

    /// Disabled in the configuration.
    pub fn config_maint(self) -> bool {
        self.contains(Self::CMAINT)
    }

    /// RMAINT: waiting for (or lost) its DNS resolution.
    pub fn resolution_maint(self) -> bool {
        self.contains(Self::RMAINT)
    }

    /// Draining, forced or inherited.
    pub fn drain(self) -> bool {
        self.0 & (Self::FDRAIN | Self::IDRAIN) != 0
    }

    /// FQDN set on the runtime API.
    pub fn fqdn_set_by_cli(self) -> bool {
        self.contains(Self::HMAINT)
    }
}

/// `FMAINT|CMAINT`, `RMAINT`, `0x80` for unknown bits, `-` for none: readable in a report.
impl fmt::Display for AdminState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("-");
        }
        let mut rest = self.0;
        let mut first = true;
        for (bit, name) in Self::NAMES {
            if rest & bit != 0 {
                if !first {
                    f.write_str("|")?;
                }
                f.write_str(name)?;
                rest &= !bit;
                first = false;
            }
        }
        if rest != 0 {
            if !first {
                f.write_str("|")?;
            }
            write!(f, "{rest:#x}")?;
        }
        Ok(())
    }
}

/// One server line of `show servers state`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ServerState {
    /// Backend name.
    pub be_name: String,
    /// Server name (`app1` for the first of a `server-template app`).
    pub srv_name: String,
    /// Current address; `None` when HAProxy prints `-` (no address yet).
    pub srv_addr: Option<String>,
    /// What the checks concluded.
    pub srv_op_state: OpState,
    /// Why it is administratively out, if it is.
    pub srv_admin_state: AdminState,
    /// Current port; `Some(0)` is what a lost port looks like.
    pub srv_port: Option<u16>,
    /// The FQDN it resolves, if any.
    pub srv_fqdn: Option<String>,
    /// Every column by header name, the typed ones included (`-` kept as printed).
    pub fields: BTreeMap<String, String>,
}

impl ServerState {
    /// Parses the whole answer (one or all backends).
    pub fn parse_all(text: &str) -> Result<Vec<Self>, ParseError> {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        match lines.next() {
            Some((_, "1")) => {}
            Some((i, l)) => {
                return Err(ParseError::new(
                    COMMAND,
                    i + 1,
                    format!("expected the format version line `1`, found {l:?}"),
                ))
            }
            None => return Err(ParseError::new(COMMAND, 1, "empty answer")),
        }
        let header: Vec<&str> = match lines.next() {
            Some((_, l)) if l.starts_with('#') => l[1..].split_whitespace().collect(),
            Some((i, l)) => {
                return Err(ParseError::new(
                    COMMAND,
                    i + 1,
                    format!("expected the `# be_id be_name ...` header, found {l:?}"),
                ))
            }
            // A version line alone: no backend has servers.
            None => return Ok(Vec::new()),
        };
        for required in ["be_name", "srv_name", "srv_op_state", "srv_admin_state"] {
            if !header.contains(&required) {
                return Err(ParseError::new(
                    COMMAND,
                    2,
                    format!("header has no `{required}` column"),
                ));
            }
        }
        lines
            .map(|(i, line)| Self::parse_row(&header, i + 1, line))
            .collect()
    }

    fn parse_row(header: &[&str], line_no: usize, line: &str) -> Result<Self, ParseError> {
        let values: Vec<&str> = line.split_whitespace().collect();
        if values.len() < header.len() {
            return Err(ParseError::new(
                COMMAND,
                line_no,
                format!(
                    "expected {} columns as in the header, found {}: {line:?}",
                    header.len(),
                    values.len()
                ),
            ));
        }
        let fields: BTreeMap<String, String> = header
            .iter()
            .zip(&values)
            .map(|(h, v)| ((*h).to_owned(), (*v).to_owned()))
            .collect();
        let get = |name: &str| fields.get(name).map(String::as_str);
        let present = |name: &str| get(name).filter(|v| *v != "-").map(str::to_owned);
        let number = |name: &str| -> Result<u32, ParseError> {
            let v = get(name).unwrap_or("");
            v.parse().map_err(|_| {
                ParseError::new(COMMAND, line_no, format!("`{name}` is not a number: {v:?}"))
            })
        };
        let op = u8::try_from(number("srv_op_state")?)
            .map_err(|_| ParseError::new(COMMAND, line_no, "`srv_op_state` out of range"))?;
        Ok(Self {
            be_name: get("be_name").unwrap_or_default().to_owned(),
            srv_name: get("srv_name").unwrap_or_default().to_owned(),
            srv_addr: present("srv_addr"),
            srv_op_state: OpState::from_code(op),
            srv_admin_state: AdminState(number("srv_admin_state")?),
            srv_port: get("srv_port").and_then(|v| v.parse().ok()),
            srv_fqdn: present("srv_fqdn"),
            fields,
        })
    }

    /// Up and taking traffic: checks passed (or none) and no maintenance bit.
    pub fn is_up(&self) -> bool {
        self.srv_op_state == OpState::Running && !self.srv_admin_state.maint()
    }

    /// `backend/server`, as scenarios and HAProxy's logs name a server.
    pub fn id(&self) -> String {
        format!("{}/{}", self.be_name, self.srv_name)
    }

    /// Any column by its header name (`srv_check_port`, `srv_time_since_last_change`).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::haproxy::fixtures;

    #[test]
    fn parses_every_version() {
        for dir in fixtures::dirs() {
            for name in ["show-servers-state", "show-servers-state-be"] {
                let all = ServerState::parse_all(&fixtures::read(dir, name)).unwrap();
                let srv = |n: &str| all.iter().find(|s| s.id() == n).unwrap();

                let s1 = srv("be/s1");
                assert!(s1.is_up(), "{dir}");
                assert_eq!(s1.srv_op_state, OpState::Running);
                assert_eq!(s1.srv_admin_state, AdminState(0));
                assert_eq!(s1.srv_addr.as_deref(), Some("127.0.0.1"));
                assert_eq!(s1.srv_port, Some(8001));
                assert_eq!(s1.srv_fqdn, None);

                let s2 = srv("be/s2");
                assert!(!s2.is_up(), "{dir}: nothing listens on 8002");
                assert_eq!(s2.srv_op_state, OpState::Stopped);
                assert!(!s2.srv_admin_state.maint());

                let s3 = srv("be/s3");
                assert_eq!(s3.srv_admin_state.bits(), 5, "{dir}: `disabled`");
                assert!(s3.srv_admin_state.forced_maint() && s3.srv_admin_state.config_maint());
                assert!(!s3.srv_admin_state.resolution_maint());
                assert_eq!(s3.srv_admin_state.to_string(), "FMAINT|CMAINT");

                for app in ["be/app1", "be/app2"] {
                    let app = srv(app);
                    assert_eq!(app.srv_admin_state.bits(), AdminState::RMAINT, "{dir}");
                    assert!(app.srv_admin_state.resolution_maint());
                    assert!(app.srv_admin_state.maint());
                    assert!(!app.srv_admin_state.forced_maint());
                    assert!(!app.is_up());
                    assert_eq!(app.srv_addr, None, "{dir}: init-addr none");
                    assert_eq!(app.srv_fqdn.as_deref(), Some("app.svc.test"));
                    assert_eq!(app.srv_port, Some(8000));
                }
                assert_eq!(
                    all.len(),
                    if name.ends_with("-be") { 5 } else { 6 },
                    "{dir}"
                );
            }
        }
    }

    #[test]
    fn two_two_prints_fewer_columns() {
        let old = ServerState::parse_all(&fixtures::read("2.2.9", "show-servers-state")).unwrap();
        let new = ServerState::parse_all(&fixtures::read("2.6.12", "show-servers-state")).unwrap();
        assert_eq!(old[0].fields.len(), 20);
        assert_eq!(old[0].get("srv_check_port"), None);
        assert_eq!(new[0].fields.len(), 25);
        assert_eq!(new[0].get("srv_check_port"), Some("0"));
    }

    #[test]
    fn admin_state_display_names_unknown_bits() {
        assert_eq!(AdminState(0).to_string(), "-");
        assert_eq!(AdminState(0x20 | 0x100).to_string(), "RMAINT|0x100");
        assert!(AdminState(AdminState::FDRAIN).drain());
        assert!(!AdminState(AdminState::FDRAIN).maint());
        assert!(!AdminState(AdminState::HMAINT).maint());
    }

    #[test]
    fn rejects_error_answers_and_short_rows() {
        let err =
            ServerState::parse_all(&fixtures::read("3.0.11", "error-show-servers-state-nope"))
                .unwrap_err();
        assert!(err.to_string().contains("Can't find backend"), "{err}");
        let short =
            "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state\n3 be 1 s1\n";
        let err = ServerState::parse_all(short).unwrap_err();
        assert_eq!(err.line, 3);
    }
}
