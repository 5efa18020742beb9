//! `--official TAG`: the official image `haproxy:<TAG>`, pulled from a registry unless an
//! image of that name is on the machine.

use super::{Flag, ImageSource, Kind, Values};
use crate::images::{probe, pull_missing, ImageError, ResolvedImage};
use crate::runtime::Engine;

pub const KIND: Kind = Kind {
    one: Flag {
        long: "official",
        value_name: "TAG",
        help: "The official image haproxy:TAG (needs a registry)",
        values: Values::One,
    },
    columns: Some(Flag {
        long: "official",
        value_name: "TAG",
        help: "Official `haproxy:<TAG>` images (comma-separated: `3.2,latest`), a column each, \
               beside the --versions columns (alone when --versions is not given). An image \
               already on this machine is used as it is; a missing one is pulled from the \
               registry first",
        values: Values::List,
    }),
    candidates: None,
    builds: false,
    parse: |tag, _| {
        if is_docker_tag(tag) {
            Ok(ImageSource::Official(tag.to_string()))
        } else {
            Err(format!(
                "--official {tag:?} is not an image tag (letters, digits, `_`, `.`, `-`; \
                 at most 128): give the tag of haproxy:<TAG>, as `3.2` or `latest`"
            ))
        }
    },
};

/// Docker's tag grammar: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn is_docker_tag(tag: &str) -> bool {
    let mut chars = tag.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        && tag.len() <= 128
}

pub(super) async fn resolve(engine: &Engine, tag: &str) -> Result<ResolvedImage, ImageError> {
    let reference = format!("haproxy:{tag}");
    pull_missing(engine, &reference, |source| {
        ImageError::OfficialUnavailable {
            tag: tag.to_string(),
            source,
        }
    })
    .await?;
    probe(engine, &reference, "official image").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn official_tags_follow_dockers_grammar() {
        for good in ["3.2", "latest", "3.0-local", "2.8.14-bookworm", "_x"] {
            assert!(is_docker_tag(good), "{good}");
        }
        for bad in ["", "-3.2", ".x", "3.2:x", "a/b", "x y", &"a".repeat(129)] {
            assert!(!is_docker_tag(bad), "{bad}");
        }
    }
}
