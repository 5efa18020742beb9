//! Names of what a run creates: unique per run, readable in `docker ps`, valid for Docker.

/// A run id that sorts by time and does not collide between parallel runs:
/// `20261122-001634-3fa2`.
pub fn new_run_id() -> String {
    let now = time::OffsetDateTime::now_utc();
    let format = time::macros::format_description!("[year][month][day]-[hour][minute][second]");
    let stamp = now.format(&format).unwrap_or_else(|_| "run".into());
    format!("{stamp}-{:04x}", rand::random::<u16>())
}

/// Keeps what Docker accepts in names (`[a-zA-Z0-9_.-]`), replacing the rest with `-`.
pub fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// A Linux interface name (at most 15 bytes) unique enough for concurrent cases.
pub(crate) fn bridge_name() -> String {
    format!("hr{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_differ_and_names_are_docker_safe() {
        assert_ne!(new_run_id(), new_run_id());
        assert_eq!(sanitize("dns-flap/3.0.11+deb13"), "dns-flap-3.0.11-deb13");
        assert!(bridge_name().len() <= 15);
    }
}
