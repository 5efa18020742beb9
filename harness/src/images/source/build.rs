//! One build: a container of the builder image, with no network, the source and patches
//! copied in, `build.sh` run, its output followed into the build log, and the binary copied
//! out. The compiler cache lives in the named volume `haprepro-ccache`, shared by every build,
//! which is what makes a bisect's neighbouring commits cheap.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::super::{labels, ImageError};
use super::Profile;
use crate::runtime::{Engine, RUN_LABEL};

/// The script the builder container runs.
pub const SCRIPT: &str = include_str!("build.sh");
/// The compiler cache's volume.
pub const CCACHE_VOLUME: &str = "haprepro-ccache";
/// A build that takes longer than this is stopped: a hung compiler must not hang a bisect.
const BUILD_WITHIN: Duration = Duration::from_secs(30 * 60);

/// What a build is made of.
pub struct BuildInput {
    pub builder: String,
    /// The archive's file name (`source.tar`, `source.tar.gz`) and bytes.
    pub source: (String, Vec<u8>),
    /// Debian's packaging tarball, whose patch series is applied first.
    pub debian: Option<Vec<u8>>,
    /// `--patch` files in order: (file name, bytes).
    pub patches: Vec<(String, Vec<u8>)>,
    pub profile: Profile,
    /// The version to give `make` when the tree's VERSION file is not filled in.
    pub version_fallback: Option<String>,
    pub log: PathBuf,
    /// The source in words, for errors ("commit 1a2b3c4 (subject)").
    pub what: String,
}

/// What a build gives.
pub struct BuildOutput {
    pub binary: Vec<u8>,
    /// `haproxy -vv` of the binary, in the builder.
    pub vv: String,
    pub make_seconds: Option<f64>,
    /// The compiler cache's hits and misses for this build.
    pub ccache: Option<String>,
}

/// Removes the build container however the build ends (error, panic, cancelled future).
struct Removal {
    engine: Engine,
    id: Option<String>,
}

impl Drop for Removal {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            let engine = self.engine.clone();
            let _ = crate::runtime::on_own_runtime(move || async move {
                let _ = engine.remove_container(&id).await;
            })
            .join();
        }
    }
}

fn input_tar(input: &BuildInput) -> Result<Vec<u8>, ImageError> {
    let mut tar = tar::Builder::new(Vec::new());
    let mut add = |path: &str, bytes: &[u8], mode: u32| {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(mode);
        header.set_mtime(0);
        header.set_cksum();
        tar.append_data(&mut header, path, bytes)
    };
    let pack = |e| ImageError::Io("pack the build's inputs".into(), e);
    add("in/build.sh", SCRIPT.as_bytes(), 0o755).map_err(pack)?;
    add(&format!("in/{}", input.source.0), &input.source.1, 0o644).map_err(pack)?;
    if let Some(debian) = &input.debian {
        add("in/debian.tar.xz", debian, 0o644).map_err(pack)?;
    }
    for (i, (name, bytes)) in input.patches.iter().enumerate() {
        add(&format!("in/patches/{:02}-{name}", i + 1), bytes, 0o644).map_err(pack)?;
    }
    tar.into_inner().map_err(pack)
}

/// Runs the build, reporting its stages and compile progress to `progress`.
pub async fn run(
    engine: &Engine,
    input: &BuildInput,
    progress: &(dyn Fn(String) + Sync),
) -> Result<BuildOutput, ImageError> {
    crate::runtime::install_watchdog();
    engine
        .ensure_volume(
            CCACHE_VOLUME,
            HashMap::from([(labels::SOURCE.to_string(), "ccache".to_string())]),
        )
        .await?;
    if let Some(dir) = input.log.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| ImageError::Io(format!("create {}", dir.display()), e))?;
    }
    let mut log = std::fs::File::create(&input.log)
        .map_err(|e| ImageError::Io(format!("create {}", input.log.display()), e))?;
    let jobs = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let mut env = vec![
        format!("MAKE_VARS={}", input.profile.make_vars().join(" ")),
        format!("JOBS={jobs}"),
    ];
    if let Some(v) = &input.version_fallback {
        env.push(format!("VERSION_FALLBACK={v}"));
    }
    let _ = writeln!(
        log,
        "# haprepro source build of {} in {} (profile {}, {})",
        input.what,
        input.builder,
        input.profile,
        env.join(" ")
    );
    let labels = HashMap::from([(RUN_LABEL.to_string(), "images".to_string())]);
    let id = engine
        .create_container(crate::runtime::ContainerConfig {
            name: format!("haprepro-build-{:08x}", rand::random::<u32>()),
            image: input.builder.clone(),
            entrypoint: Some(vec!["sh".into(), "/in/build.sh".into()]),
            env,
            labels,
            network: "none".into(),
            binds: vec![format!("{CCACHE_VOLUME}:/ccache")],
            // Unpacking HAProxy's tree into the container's own layer took 2.2 s of a 10 s
            // neighbouring build (overlay on overlay); in memory it is a fraction of that.
            tmpfs: HashMap::from([("/build".to_string(), "rw,exec,size=3g".to_string())]),
            user: Some("0".into()),
            ..Default::default()
        })
        .await?;
    let mut removal = Removal {
        engine: engine.clone(),
        id: Some(id.clone()),
    };
    let started = Instant::now();
    engine.upload(&id, input_tar(input)?).await?;
    engine.start(&id).await?;
    crate::failpoint::hit("source-build");
    let _ = writeln!(
        log,
        "[{:>6.1}s] (inputs copied in, container started)",
        started.elapsed().as_secs_f64()
    );
    let mut compiled = 0usize;
    let mut error_line: Option<String> = None;
    let mut make_seconds = None;
    let mut ccache = None;
    let mut last_lines: Vec<String> = Vec::new();
    let mut on_line = |line: &str| {
        let _ = writeln!(log, "[{:>6.1}s] {line}", started.elapsed().as_secs_f64());
        if let Some(stage) = line.strip_prefix("haprepro-stage: ") {
            progress(stage.to_string());
        } else if let Some(e) = line.strip_prefix("haprepro-error: ") {
            error_line = Some(e.to_string());
        } else if let Some(s) = line.strip_prefix("haprepro-make-ms: ") {
            make_seconds = s.trim().parse::<f64>().ok().map(|ms| ms / 1000.0);
        } else if let Some(s) = line.strip_prefix("haprepro-ccache: ") {
            ccache = Some(s.trim().to_string());
        } else {
            let words: Vec<&str> = line.split_whitespace().collect();
            if let ["CC", object] = words.as_slice() {
                compiled += 1;
                progress(format!("make: {compiled} file(s) compiled ({object})"));
            } else if let ["LD", _] = words.as_slice() {
                progress("make: linking".to_string());
            }
            last_lines.push(line.to_string());
            if last_lines.len() > 8 {
                last_lines.remove(0);
            }
        }
    };
    let followed =
        tokio::time::timeout(BUILD_WITHIN, engine.follow_output(&id, &mut on_line)).await;
    let log_path = input.log.clone();
    match followed {
        Err(_) => {
            return Err(ImageError::SourceBuildFailed {
                what: input.what.clone(),
                reason: format!("still building after {BUILD_WITHIN:?}; stopped"),
                log: log_path,
            })
        }
        Ok(r) => r?,
    }
    let code = engine.wait_exit(&id).await?;
    let said = error_line.unwrap_or_else(|| last_lines.join("\n    "));
    let result = match code {
        0 => Ok(()),
        10 => Err(ImageError::NotHaproxySource {
            what: input.what.clone(),
            said,
        }),
        11 | 12 => Err(ImageError::PatchFailed {
            what: input.what.clone(),
            said,
            log: log_path.clone(),
        }),
        _ => Err(ImageError::SourceBuildFailed {
            what: input.what.clone(),
            reason: format!("{said} (exit {code}, after {:.0?})", started.elapsed()),
            log: log_path.clone(),
        }),
    };
    result?;
    let _ = writeln!(log, "[{:>6.1}s] (exit 0)", started.elapsed().as_secs_f64());
    let archive = engine.download(&id, "/out").await?;
    if let Some(id) = removal.id.take() {
        engine.remove_container(&id).await?;
    }
    let mut binary = None;
    let mut vv = String::new();
    let unpack = |e| ImageError::Io("read the build's output".into(), e);
    let mut entries = tar::Archive::new(&archive[..]);
    for entry in entries.entries().map_err(unpack)? {
        let mut entry = entry.map_err(unpack)?;
        let path = entry.path().map_err(unpack)?.to_string_lossy().to_string();
        if path.ends_with("out/haproxy") {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).map_err(unpack)?;
            binary = Some(bytes);
        } else if path.ends_with("out/haproxy-vv.txt") {
            entry.read_to_string(&mut vv).map_err(unpack)?;
        }
    }
    let binary = binary.ok_or_else(|| ImageError::SourceBuildFailed {
        what: input.what.clone(),
        reason: "the build left no haproxy binary in /out".into(),
        log: log_path.clone(),
    })?;
    Ok(BuildOutput {
        binary,
        vv,
        make_seconds,
        ccache,
    })
}

/// The `+FEATURE` words of `haproxy -vv`'s "Feature list" line, mapped to the names scenarios
/// require (`+OPENSSL` is `ssl`).
pub fn features_of(vv: &str) -> Vec<String> {
    let mut features = Vec::new();
    for line in vv.lines() {
        let Some(list) = line.trim().strip_prefix("Feature list :") else {
            continue;
        };
        for word in list.split_whitespace() {
            let name = match word {
                "+OPENSSL" => "ssl",
                "+LUA" => "lua",
                "+PCRE2" | "+PCRE" => "pcre",
                "+ZLIB" => "zlib",
                "+PROMEX" => "prometheus",
                _ => continue,
            };
            if !features.iter().any(|f| f == name) {
                features.push(name.to_string());
            }
        }
    }
    features
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_come_from_the_feature_list_line() {
        let vv = "HAProxy version 3.0.11 2025/08/01\nBuild options :\n  TARGET  = linux-glibc\n\
                  Feature list : -51DEGREES +ACCEPT4 +BACKTRACE -CLOSEFROM +OPENSSL -OPENSSL_AWSLC \
                  +LUA +PCRE2 +PCRE2_JIT +PROMEX +ZLIB -SLZ\n";
        assert_eq!(
            features_of(vv),
            ["ssl", "lua", "pcre", "prometheus", "zlib"]
        );
        let minimal = "Feature list : -OPENSSL -LUA -PCRE2 -ZLIB +SLZ -PROMEX\n";
        assert!(features_of(minimal).is_empty());
    }
}
