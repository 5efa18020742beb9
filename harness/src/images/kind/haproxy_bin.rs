//! `--haproxy-bin PATH`: a user's own `haproxy` binary, placed into a base image that carries
//! HAProxy's runtime libraries, for bisecting one's own builds. The image is cached by the
//! binary's digest.

use std::path::Path;

use sha2::{Digest, Sha256};

use super::{Flag, ImageSource, Kind, Values};
use crate::images::{labels, probe, ImageError, ResolvedImage};
use crate::runtime::Engine;

pub const KIND: Kind = Kind {
    one: Flag {
        long: "haproxy-bin",
        value_name: "PATH",
        help: "A locally built haproxy binary, run in a base image with HAProxy's libraries",
        values: Values::One,
    },
    columns: None,
    candidates: None,
    builds: false,
    parse: |path, _| Ok(ImageSource::LocalBinary(path.into())),
};

const LOCAL_REPO: &str = "haprepro/local";

pub(super) async fn resolve(engine: &Engine, path: &Path) -> Result<ResolvedImage, ImageError> {
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|e| ImageError::Io(format!("read {}", path.display()), e))?;
    let digest = hex::encode(&Sha256::digest(&bytes)[..6]);
    let reference = format!("{LOCAL_REPO}:{digest}");
    let how = format!("local binary {}", path.display());
    if engine.image_labels(&reference).await?.is_some() {
        return probe(engine, &reference, &how).await;
    }
    let base = crate::images::base_image(engine).await?;
    let container = engine
        .create_stopped(&base, crate::images::debian::scratch_labels())
        .await?;
    let packed = crate::images::source::binary_tar(&bytes);
    let committed = async {
        engine.upload(&container, packed?).await?;
        engine
            .commit(
                &container,
                LOCAL_REPO,
                &digest,
                &format!("LABEL {}=local-bin", labels::SOURCE),
            )
            .await?;
        Ok::<_, ImageError>(())
    }
    .await;
    engine.remove_container(&container).await?;
    committed?;
    let resolved = probe(engine, &reference, &how).await.map_err(|e| match e {
        ImageError::NoVersion { said, .. } => ImageError::BadBinary {
            path: path.to_path_buf(),
            base: base.clone(),
            said,
        },
        e => e,
    })?;
    Ok(resolved)
}
