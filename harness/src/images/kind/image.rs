//! `--image REF` (`--images` in `bisect`): any image with `haproxy` on its PATH, used as it
//! is (pulled when it is not on the machine).

use super::{Flag, ImageSource, Kind, Values};
use crate::images::{probe, pull_missing, ImageError, ResolvedImage};
use crate::runtime::Engine;

pub const KIND: Kind = Kind {
    one: Flag {
        long: "image",
        value_name: "REF",
        help: "Any image with `haproxy` on its PATH",
        values: Values::One,
    },
    columns: None,
    candidates: Some(Flag {
        long: "images",
        value_name: "REF,REF",
        help: "Image references in order (comma-separated), at least two: for builds of your own",
        values: Values::List,
    }),
    builds: false,
    parse: |reference, _| Ok(ImageSource::Reference(reference.to_string())),
};

pub(super) async fn resolve(engine: &Engine, reference: &str) -> Result<ResolvedImage, ImageError> {
    pull_missing(engine, reference, |source| {
        ImageError::ReferenceUnavailable {
            reference: reference.to_string(),
            source,
        }
    })
    .await?;
    probe(engine, reference, "image reference").await
}
