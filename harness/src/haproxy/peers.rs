//! `show peers`: peers sections, their peers' connection state and shared tables.
//!
//! Used to check that a local peer reads `(local,inactive)` and a remote one
//! `(remote,active)` with `last_status=ESTA`. The dump is indented text:
//!
//! ```text
//! 0x...: [date] id=mypeers state=0 flags=0x3 ...            <- section (column 0)
//!   0x...: id=hapB(remote,active) addr=127.0.0.1:10001 ...   <- peer (indented, pointer)
//!         reconnect=4s heartbeat=1s ...                      <- more peer words (2.6+)
//!         flags=0x20000200 appctx:0x... state=EST
//!         shared tables:
//!           0x... local_id=1 remote_id=1 ...
//!               table:0x... id=st update=2 ...               <- a shared table
//! ```
//!
//! 2.2 prints all of a peer's words on its first line, plus a dictionary cache dump; 2.6 and
//! later wrap them onto a second line (adding `last_hdshk`, `heartbeat`, `coll`); 3.0 adds
//! `app_state` and `learn_state`; sections say `state=` on 2.2 and `disabled=` later.

use std::collections::BTreeMap;

use super::parse::{key_values, split_pointer, ParseError};

const COMMAND: &str = "show peers";

/// One `peers` section.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PeersSection {
    /// Section name.
    pub name: String,
    /// The section line's words (`flags`, `resync_timeout`, `task_calls`, and `date`).
    pub fields: BTreeMap<String, String>,
    /// Its peers, in HAProxy's order.
    pub peers: Vec<Peer>,
}

/// One peer of a section.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Peer {
    /// Peer name.
    pub name: String,
    /// Whether this is the local peer (this process).
    pub local: bool,
    /// Whether an applet is attached to the peer, which includes a connection still in its
    /// handshake: check [`Peer::last_status`] for `ESTA`. The local peer is always inactive.
    pub active: bool,
    /// Configured `address:port`.
    pub addr: Option<String>,
    /// `ESTA` when established, `CONN`/`HSHK` while trying, `NONE` for the local peer.
    pub last_status: Option<String>,
    /// Names of the stick tables shared with this peer.
    pub tables: Vec<String>,
    /// The peer's own words (those before `shared tables:`), first occurrence wins.
    pub fields: BTreeMap<String, String>,
}

impl PeersSection {
    /// Parses the whole `show peers` answer (2.x and 3.x formats).
    pub fn parse_all(text: &str) -> Result<Vec<Self>, ParseError> {
        let mut sections: Vec<Self> = Vec::new();
        // Whether the lines being read still describe the peer (before `shared tables:`).
        let mut in_peer_header = false;
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let indent = line.len() - line.trim_start().len();
            let err = |msg: &str| ParseError::new(COMMAND, i + 1, format!("{msg}: {line:?}"));
            if indent == 0 {
                let (_, rest) = split_pointer(line).ok_or_else(|| err("expected a section"))?;
                sections.push(parse_section(rest).ok_or_else(|| err("section without id="))?);
                continue;
            }
            let section = sections
                .last_mut()
                .ok_or_else(|| err("expected a section line first"))?;
            let trimmed = line.trim_start();
            if let Some((_, rest)) = split_pointer(line).filter(|(_, r)| r.starts_with("id=")) {
                section
                    .peers
                    .push(parse_peer(rest).ok_or_else(|| err("peer without name(kind,state)"))?);
                in_peer_header = true;
            } else if let Some(peer) = section.peers.last_mut() {
                if trimmed.starts_with("shared tables:") {
                    in_peer_header = false;
                } else if let Some(rest) = trimmed.strip_prefix("table:") {
                    let words = key_values(rest.split_whitespace());
                    if let Some(id) = words.get("id") {
                        peer.tables.push(id.clone());
                    }
                } else if in_peer_header && !is_connection_detail(trimmed) {
                    for (k, v) in key_values(trimmed.split_whitespace()) {
                        peer.fields.entry(k).or_insert(v);
                    }
                    if peer.last_status.is_none() {
                        peer.last_status = peer.fields.get("last_status").cloned();
                    }
                }
            }
        }
        Ok(sections)
    }

    /// The peer with this name.
    pub fn peer(&self, name: &str) -> Option<&Peer> {
        self.peers.iter().find(|p| p.name == name)
    }
}

/// Lines describing the current connection, whose `id=`/`addr=` words would shadow the peer's.
fn is_connection_detail(line: &str) -> bool {
    [
        "xprt=",
        "remote_table:",
        "last_local_table:",
        "TX dictionary",
        "RX dictionary",
        "Dictionary",
    ]
    .iter()
    .any(|p| line.starts_with(p))
        || line.contains(" -> ")
}

/// `[22/Nov/2026:00:22:53] id=mypeers state=0 flags=0x3 ...`
fn parse_section(rest: &str) -> Option<PeersSection> {
    let (date, words) = match rest.strip_prefix('[').and_then(|r| r.split_once(']')) {
        Some((date, words)) => (Some(date), words),
        None => (None, rest),
    };
    let mut fields = key_values(words.split_whitespace());
    if let Some(date) = date {
        fields.insert("date".to_owned(), date.to_owned());
    }
    Some(PeersSection {
        name: fields.get("id")?.clone(),
        fields,
        peers: Vec::new(),
    })
}

/// `id=hapB(remote,active) addr=127.0.0.1:10001 last_status=ESTA ...`
fn parse_peer(rest: &str) -> Option<Peer> {
    let fields = key_values(rest.split_whitespace());
    let id = fields.get("id")?;
    let (name, kind) = id.split_once('(')?;
    let (place, state) = kind.strip_suffix(')')?.split_once(',')?;
    Some(Peer {
        name: name.to_owned(),
        local: place == "local",
        active: state == "active",
        addr: fields.get("addr").cloned(),
        last_status: fields.get("last_status").cloned(),
        tables: Vec::new(),
        fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::haproxy::fixtures;

    #[test]
    fn parses_every_version() {
        for dir in fixtures::dirs() {
            let sections = PeersSection::parse_all(&fixtures::read(dir, "show-peers")).unwrap();
            assert_eq!(sections.len(), 1, "{dir}");
            let s = &sections[0];
            assert_eq!(s.name, "mypeers");
            assert_eq!(s.peers.len(), 3, "{dir}");
            assert!(s.fields.contains_key("date"));

            let a = s.peer("hapA").unwrap();
            assert!(
                a.local && !a.active,
                "{dir}: the local peer is inactive by design"
            );
            assert_eq!(a.addr.as_deref(), Some("127.0.0.1:10000"));
            assert_eq!(a.last_status.as_deref(), Some("NONE"));

            let b = s.peer("hapB").unwrap();
            assert!(!b.local && b.active, "{dir}");
            assert_eq!(b.last_status.as_deref(), Some("ESTA"), "{dir}");
            assert_eq!(
                b.addr.as_deref(),
                Some("127.0.0.1:10001"),
                "{dir}: not the xprt addr"
            );
            assert_eq!(b.fields.get("state").map(String::as_str), Some("EST"));

            // Nothing listens on 10002. `active` only means an applet is attached: 3.4.7 was
            // caught mid-attempt as `(remote,active)` with `last_status=HSHK`. Only
            // `last_status` says whether a session is established.
            let c = s.peer("hapC").unwrap();
            assert!(!c.local, "{dir}");
            assert!(
                matches!(c.last_status.as_deref(), Some("CONN" | "HSHK")),
                "{dir}"
            );

            for p in &s.peers {
                assert_eq!(p.tables, ["st"], "{dir} {}", p.name);
                assert!(p.fields.contains_key("reconnect"), "{dir} {}", p.name);
            }
        }
    }

    #[test]
    fn later_versions_add_words() {
        let peer = |dir| {
            let s = PeersSection::parse_all(&fixtures::read(dir, "show-peers")).unwrap();
            s[0].peer("hapB").unwrap().clone()
        };
        assert!(!peer("2.2.9").fields.contains_key("heartbeat"));
        assert!(peer("2.6.12").fields.contains_key("heartbeat"));
        assert!(!peer("2.6.12").fields.contains_key("app_state"));
        assert_eq!(
            peer("3.0.11").fields.get("app_state").map(String::as_str),
            Some("RUNNING")
        );
    }

    #[test]
    fn rejects_an_error_answer() {
        assert!(PeersSection::parse_all("Unknown command.\n").is_err());
        assert_eq!(PeersSection::parse_all("\n").unwrap(), Vec::new());
    }
}
