//! `show sess`: the streams HAProxy currently holds.
//!
//! Scenarios count streams still attached to a server after `shutdown sessions server` and
//! watch their age grow. One line per stream: `0x...: proto=tcpv4 src=IP:PORT fe=F be=B srv=S
//! ts=.. age=9s ...`. Internal streams (peers applets, health checks) print `proto=?` and no
//! `src`/`fe`/`be`/`srv`. The buffer and stream-connector words changed names over versions
//! (`s0=`/`s1=` on 2.2, `scf=`/`scb=` from 2.6, `epoch=` and `rc=` from 2.6), hence the map.

use std::collections::BTreeMap;
use std::time::Duration;

use super::parse::{key_values, split_pointer, ParseError};

const COMMAND: &str = "show sess";

/// One stream of `show sess`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Session {
    /// HAProxy's address of the stream (what `shutdown session` takes).
    pub ptr: String,
    /// `tcpv4`, `tcpv6`, `unix_stream`, or `?` for internal streams.
    pub proto: String,
    /// Client `address:port`.
    pub src: Option<String>,
    /// Frontend (`GLOBAL` for the runtime API itself).
    pub fe: Option<String>,
    /// Backend; `None` while none is chosen (`<NONE>`).
    pub be: Option<String>,
    /// Server; `None` while none is chosen (`<none>`).
    pub srv: Option<String>,
    /// Time since the stream was created.
    pub age: Option<Duration>,
    /// Every `key=value` word of the line.
    pub fields: BTreeMap<String, String>,
}

impl Session {
    /// Parses the list form of `show sess` (not the detailed dump of `show sess ID`).
    pub fn parse_all(text: &str) -> Result<Vec<Self>, ParseError> {
        let mut out = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let Some((ptr, rest)) = split_pointer(line) else {
                return Err(ParseError::new(
                    COMMAND,
                    i + 1,
                    format!("expected `0x...: proto=...`, found {line:?}"),
                ));
            };
            let fields = key_values(rest.split_whitespace());
            let named = |k: &str| {
                fields
                    .get(k)
                    .filter(|v| !v.eq_ignore_ascii_case("<none>"))
                    .cloned()
            };
            out.push(Self {
                ptr: ptr.to_owned(),
                proto: fields.get("proto").cloned().unwrap_or_default(),
                src: named("src"),
                fe: named("fe"),
                be: named("be"),
                srv: named("srv"),
                age: fields.get("age").and_then(|a| parse_duration(a)),
                fields,
            });
        }
        Ok(out)
    }

    /// Whether this stream is a runtime API client (possibly the one asking).
    pub fn is_cli(&self) -> bool {
        self.fe.as_deref() == Some("GLOBAL")
    }

    /// Whether this stream is attached to `backend/server`.
    pub fn on_server(&self, backend: &str, server: &str) -> bool {
        self.be.as_deref() == Some(backend) && self.srv.as_deref() == Some(server)
    }
}

/// HAProxy's human durations: `9s`, `1m2s`, `3h4m`, `2d5h`, `150ms`, `0s`.
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    let mut total = Duration::ZERO;
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let end = rest.find(|c: char| !c.is_ascii_digit())?;
        let n: u64 = rest[..end].parse().ok()?;
        rest = &rest[end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_end] {
            "ms" => Duration::from_millis(1),
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            "d" => Duration::from_secs(86400),
            _ => return None,
        };
        total += unit * u32::try_from(n).ok()?;
        rest = &rest[unit_end..];
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::haproxy::fixtures;

    #[test]
    fn parses_every_version() {
        for dir in fixtures::dirs() {
            let all = Session::parse_all(&fixtures::read(dir, "show-sess")).unwrap();
            let tcp: Vec<_> = all.iter().filter(|s| s.on_server("tcpfe", "t1")).collect();
            assert_eq!(tcp.len(), 1, "{dir}: the held TCP session");
            assert_eq!(tcp[0].proto, "tcpv4");
            assert_eq!(tcp[0].fe.as_deref(), Some("tcpfe"));
            assert!(tcp[0].src.as_deref().unwrap().starts_with("172.17.0.1:"));
            assert!(tcp[0].age.unwrap() <= Duration::from_secs(5));
            assert!(tcp[0].fields.contains_key("rq"));

            let cli: Vec<_> = all.iter().filter(|s| s.is_cli()).collect();
            assert_eq!(cli.len(), 1, "{dir}: the `show sess` asker itself");
            assert_eq!(cli[0].be, None);
            assert_eq!(cli[0].srv, None);
        }
    }

    #[test]
    fn internal_streams_have_no_addresses() {
        let all = Session::parse_all(&fixtures::read("2.6.12", "show-sess")).unwrap();
        let internal = all.iter().find(|s| s.proto == "?").unwrap();
        assert_eq!(
            (&internal.src, &internal.fe, &internal.srv),
            (&None, &None, &None)
        );
        assert_eq!(internal.age, Some(Duration::from_secs(36)));
    }

    #[test]
    fn connector_words_changed_after_two_two() {
        let old = Session::parse_all(&fixtures::read("2.2.9", "show-sess")).unwrap();
        let new = Session::parse_all(&fixtures::read("3.4.7", "show-sess")).unwrap();
        assert!(old[0].fields.contains_key("s0") && !old[0].fields.contains_key("scf"));
        assert!(new[0].fields.contains_key("scf") && new[0].fields.contains_key("epoch"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("9s"), Some(Duration::from_secs(9)));
        assert_eq!(parse_duration("1m2s"), Some(Duration::from_secs(62)));
        assert_eq!(
            parse_duration("2d3h"),
            Some(Duration::from_secs(2 * 86400 + 3 * 3600))
        );
        assert_eq!(parse_duration("150ms"), Some(Duration::from_millis(150)));
        assert_eq!(parse_duration(""), None);
        assert_eq!(parse_duration("<PAST>"), None);
    }

    #[test]
    fn rejects_an_error_answer() {
        assert!(Session::parse_all("Permission denied\n").is_err());
    }
}
