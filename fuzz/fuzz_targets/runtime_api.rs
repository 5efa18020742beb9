//! Every parser of HAProxy's runtime API answers (and of versions, version ranges and the
//! condition language) on any input: a typed value or an error, never a panic.
#![no_main]

use haprepro::haproxy::{
    HaproxyVersion, Info, PeersSection, ProcList, ServerState, Session, StatRow, Table,
    VersionRange,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = Info::parse(&text).map(|i| i.haproxy_version());
    let _ = ServerState::parse_all(&text);
    let _ = StatRow::parse_all(&text);
    let _ = Session::parse_all(&text);
    let _ = Table::parse_all(&text);
    let _ = PeersSection::parse_all(&text);
    let _ = ProcList::parse(&text).map(|p| p.workers().count());
    for line in text.lines().take(8) {
        let _ = HaproxyVersion::parse(line);
        if let Ok(range) = VersionRange::parse(line) {
            let _ = range.to_string();
        }
        let _ = haprepro::scenario::Condition::parse(line);
    }
    let _ = haprepro::haproxy::config::backends(&text);
});
