//! What a haproxy.cfg declares, as far as a plain reading tells: its backends and their
//! servers (`server NAME`, `server-template PREFIX N` or `PREFIX LOW-HIGH`).
//!
//! The scenario loader checks every `backend/server` a step or measure names against it, so a
//! typo in a server's name is an error at load instead of a wait that times out or a count that
//! reads 0. Where the config cannot tell (a template count that is not a number), the backend
//! is marked open and the name is checked at run time only.

use std::collections::{BTreeMap, BTreeSet};

/// Keywords that start a section (HAProxy 2.2 to 3.4).
const SECTIONS: [&str; 17] = [
    "global",
    "defaults",
    "frontend",
    "backend",
    "listen",
    "resolvers",
    "peers",
    "userlist",
    "mailers",
    "program",
    "http-errors",
    "ring",
    "cache",
    "crt-store",
    "traces",
    "log-forward",
    "fcgi-app",
];

/// The servers of one backend (or `listen` section).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigBackend {
    pub servers: BTreeSet<String>,
    /// Servers may exist that the config does not name (a `server-template` count that is not
    /// a number).
    pub open: bool,
}

/// Backends by name, from a rendered config.
pub fn backends(config: &str) -> BTreeMap<String, ConfigBackend> {
    let mut out: BTreeMap<String, ConfigBackend> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in config.lines() {
        let line = line.split('#').next().unwrap_or("");
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(first) = words.first() else { continue };
        if SECTIONS.contains(first) {
            current = match (*first, words.get(1)) {
                ("backend" | "listen", Some(name)) => {
                    out.entry(name.to_string()).or_default();
                    Some(name.to_string())
                }
                _ => None,
            };
            continue;
        }
        let Some(backend) = current.as_ref().and_then(|b| out.get_mut(b)) else {
            continue;
        };
        match (*first, words.get(1), words.get(2)) {
            ("server", Some(name), _) => {
                backend.servers.insert(name.to_string());
            }
            ("server-template", Some(prefix), Some(count)) => match template_range(count) {
                Some((low, high)) => {
                    backend
                        .servers
                        .extend((low..=high).map(|i| format!("{prefix}{i}")));
                }
                None => backend.open = true,
            },
            ("server-template", _, _) => backend.open = true,
            _ => {}
        }
    }
    out
}

/// `N` (1 to N) or `LOW-HIGH`, bounded so a typo cannot make a huge set.
fn template_range(count: &str) -> Option<(u32, u32)> {
    let (low, high) = match count.split_once('-') {
        Some((l, h)) => (l.parse().ok()?, h.parse().ok()?),
        None => (1, count.parse().ok()?),
    };
    (low <= high && high - low < 100_000).then_some((low, high))
}

/// Whether `backend/server` is declared; `Err` says what the config has instead.
pub fn check_server(backends: &BTreeMap<String, ConfigBackend>, id: &str) -> Result<(), String> {
    let Some((backend, server)) = id.split_once('/') else {
        return Err(format!("expected backend/server, found {id:?}"));
    };
    let Some(b) = backends.get(backend) else {
        let known: Vec<&str> = backends.keys().map(String::as_str).collect();
        return Err(format!(
            "no backend {backend:?} in the config; it declares {}",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        ));
    };
    if b.open || b.servers.contains(server) {
        return Ok(());
    }
    let mut known: Vec<&str> = b.servers.iter().map(String::as_str).collect();
    let more = known.len() > 12;
    known.truncate(12);
    Err(format!(
        "backend {backend} has no server {server:?}; it declares {}{}",
        if known.is_empty() {
            "none".to_string()
        } else {
            known.join(", ")
        },
        if more { ", ..." } else { "" }
    ))
}

/// Shell-style matching of `*` (any run of characters) and `?` (one), for server globs.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    // Iterative with one backtrack point: linear in practice, no recursion to blow the stack.
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Whether a glob (or plain `backend/server`) can match a server of the config: some declared
/// server matches, or a matching backend may hold servers the config does not name.
pub fn check_pattern(
    backends: &BTreeMap<String, ConfigBackend>,
    pattern: &str,
) -> Result<(), String> {
    if !pattern.contains(['*', '?']) {
        return check_server(backends, pattern);
    }
    let (bp, _) = pattern.split_once('/').unwrap_or((pattern, "*"));
    let hit = backends.iter().any(|(name, b)| {
        (b.open && glob(bp, name))
            || b.servers
                .iter()
                .any(|s| glob(pattern, &format!("{name}/{s}")))
    });
    if hit {
        Ok(())
    } else {
        Err(format!(
            "{pattern:?} matches no server of the config (backends: {})",
            backends.keys().cloned().collect::<Vec<_>>().join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("be*/srv*", "be12/srv1"));
        assert!(glob("be/s?", "be/s1"));
        assert!(!glob("be/s?", "be/s12"));
        assert!(glob("*", ""));
        assert!(!glob("a*b", "acd"));
        assert!(glob("*a*a*a*b", "aaaaaaaaaaaaab"));
    }

    #[test]
    fn patterns_match_declared_servers() {
        let b = backends("backend be1\n server-template srv 2 x\nbackend be2\n server srv1 x\n");
        assert!(check_pattern(&b, "be*/srv1").is_ok());
        assert!(check_pattern(&b, "be*/web*").is_err());
        assert!(check_pattern(&b, "be1/srv2").is_ok());
    }

    #[test]
    fn reads_servers_and_templates_per_backend() {
        let cfg = "global\n  stats socket x\nbackend be # main\n  server s1 1.2.3.4:80\n  \
                   server-template app 3 app.svc:80\n  server-template r 5-6 x:1\n\
                   frontend fe\n  server nope x\nlisten li\n  server l1 x\n\
                   backend dyn\n  server-template d {{ n }} x\n";
        let b = backends(cfg);
        assert_eq!(
            b["be"].servers.iter().collect::<Vec<_>>(),
            ["app1", "app2", "app3", "r5", "r6", "s1"]
        );
        assert!(b["li"].servers.contains("l1"));
        assert!(b["dyn"].open);
        assert!(!b.contains_key("fe"));
        assert!(check_server(&b, "be/app2").is_ok());
        assert!(check_server(&b, "dyn/anything").is_ok());
        let err = check_server(&b, "be/app4").unwrap_err();
        assert!(
            err.contains("no server \"app4\"") && err.contains("app1"),
            "{err}"
        );
        let err = check_server(&b, "bee/s1").unwrap_err();
        assert!(
            err.contains("no backend \"bee\"") && err.contains("be"),
            "{err}"
        );
        assert!(check_server(&b, "s1").is_err());
    }

    #[test]
    fn the_shipped_fixture_configs_read() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/haproxy");
        let a = std::fs::read_to_string(format!("{dir}/a.cfg")).unwrap();
        let b = backends(&a);
        assert!(check_server(&b, "be/s1").is_ok(), "{b:?}");
    }
}
