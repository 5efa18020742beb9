//! The Docker Engine, through bollard: every Docker call haprepro makes is in this file.
//!
//! Keeping them together keeps the rest of the harness independent of bollard's API (which
//! changes between releases) and gives one place to turn Docker's errors into ones a person can
//! act on.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HostConfig, Ipam, IpamConfig,
    NetworkCreateRequest, NetworkingConfig,
};
use bollard::query_parameters::{
    CommitContainerOptionsBuilder, CreateContainerOptionsBuilder, CreateImageOptionsBuilder,
    ListContainersOptionsBuilder, ListImagesOptionsBuilder, ListNetworksOptionsBuilder,
    LogsOptionsBuilder, RemoveContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::{StreamExt, TryStreamExt};

use super::RuntimeError;

/// The label every container and network of haprepro carries, valued with the run id.
pub const RUN_LABEL: &str = "haprepro.run";

/// Every request to the daemon gets its answer within this (bollard's client timeout): a stuck
/// daemon makes a call fail, never hang.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// What streams beyond the answer's headers, read to its end: a container's output.
pub const LOGS_TIMEOUT: Duration = Duration::from_secs(30);
/// A command run in a container, to its exit.
pub const EXEC_TIMEOUT: Duration = Duration::from_secs(60);
/// A throwaway container run to completion (`haproxy -v`).
pub const RUN_ONCE_TIMEOUT: Duration = Duration::from_secs(120);
/// Pulling or importing an image.
pub const IMAGE_TIMEOUT: Duration = Duration::from_secs(900);

/// `fut`, or [`RuntimeError::Timeout`] once `limit` passed.
async fn within<T>(
    action: impl FnOnce() -> String,
    limit: Duration,
    fut: impl std::future::Future<Output = Result<T, RuntimeError>>,
) -> Result<T, RuntimeError> {
    tokio::time::timeout(limit, fut).await.unwrap_or_else(|_| {
        Err(RuntimeError::Timeout {
            action: action(),
            after: limit,
        })
    })
}

/// A connected Docker Engine.
#[derive(Clone)]
pub struct Engine {
    docker: Docker,
}

/// A network as haprepro needs it: where to bind the DNS server and where to capture.
#[derive(Debug, Clone)]
pub struct NetworkInfo {
    pub id: String,
    pub name: String,
    pub subnet: String,
    pub gateway: Ipv4Addr,
    pub bridge: String,
}

/// What a container is made of; see [`super::Sandbox::start`].
#[derive(Debug, Clone, Default)]
pub struct ContainerConfig {
    pub name: String,
    pub image: String,
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub labels: HashMap<String, String>,
    pub network: String,
    pub ip: Option<Ipv4Addr>,
    pub binds: Vec<String>,
    pub sysctls: HashMap<String, String>,
    pub user: Option<String>,
    /// The main process's working directory (where a core named by a plain
    /// `kernel.core_pattern` lands).
    pub working_dir: Option<String>,
    /// Lift the core-size limit, so a crash leaves a core dump.
    pub core_dumps: bool,
    /// Memory-backed mounts: path and mount options (`rw,exec,size=2g`).
    pub tmpfs: HashMap<String, String>,
}

/// How a container's main process ended, as Docker recorded it.
#[derive(Debug, Clone, Default)]
pub struct ExitState {
    pub running: bool,
    pub exit_code: Option<i64>,
    pub oom_killed: bool,
    /// RFC 3339, when Docker has it.
    pub finished_at: Option<String>,
}

/// The result of a command run inside a container.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ExecOutput {
    pub exit_code: i64,
    pub stdout: String,
    pub stderr: String,
}

/// A container or network with its labels and creation time (Unix seconds, where Docker says).
#[derive(Debug, Clone)]
pub struct Owned {
    pub id: String,
    pub labels: HashMap<String, String>,
    pub created: Option<i64>,
}

impl Owned {
    /// The creating process's id, from the `haprepro.pid` label.
    pub fn pid(&self) -> Option<u32> {
        self.labels.get("haprepro.pid")?.parse().ok()
    }
}

/// A local image with its labels.
#[derive(Debug, Clone)]
pub struct ImageSummary {
    pub id: String,
    pub tags: Vec<String>,
    pub labels: HashMap<String, String>,
    pub size: i64,
}

pub(crate) fn docker_endpoint() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".to_string())
}

fn label_filter(labels: &[(&str, &str)]) -> HashMap<String, Vec<String>> {
    let values = labels
        .iter()
        .map(|(k, v)| {
            if v.is_empty() {
                k.to_string()
            } else {
                format!("{k}={v}")
            }
        })
        .collect();
    HashMap::from([("label".to_string(), values)])
}

impl Engine {
    /// Connects and checks that the daemon answers, negotiating the API version so that older
    /// engines (API 1.41 on Debian's docker.io 20.10) work too.
    pub async fn connect() -> Result<Engine, RuntimeError> {
        let endpoint = docker_endpoint();
        let unavailable = |source| RuntimeError::DockerUnavailable {
            endpoint: endpoint.clone(),
            source,
        };
        let docker = Docker::connect_with_defaults()
            .map_err(unavailable)?
            .with_timeout(CALL_TIMEOUT);
        let docker = docker.negotiate_version().await.map_err(unavailable)?;
        docker.ping().await.map_err(unavailable)?;
        Ok(Engine { docker })
    }

    pub async fn create_network(
        &self,
        name: &str,
        bridge: &str,
        subnet: &str,
        gateway: Ipv4Addr,
        labels: HashMap<String, String>,
    ) -> Result<NetworkInfo, RuntimeError> {
        let mut labels = labels;
        labels.extend(super::session::labels());
        let request = NetworkCreateRequest {
            name: name.to_string(),
            driver: Some("bridge".into()),
            labels: Some(labels),
            options: Some(HashMap::from([(
                "com.docker.network.bridge.name".to_string(),
                bridge.to_string(),
            )])),
            // A subnet of our own: Docker assigns fixed container addresses only on networks
            // created with one, and scenarios need addresses known before containers start.
            ipam: Some(Ipam {
                driver: Some("default".into()),
                config: Some(vec![IpamConfig {
                    subnet: Some(subnet.to_string()),
                    gateway: Some(gateway.to_string()),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let created = self.docker.create_network(request).await.map_err(|e| {
            if e.to_string().contains("overlap") {
                RuntimeError::SubnetTaken {
                    subnet: subnet.to_string(),
                }
            } else {
                RuntimeError::docker(format!("create network {name}"), e)
            }
        })?;
        let inspect = self
            .docker
            .inspect_network(&created.id, None)
            .await
            .map_err(|e| RuntimeError::docker(format!("inspect network {name}"), e))?;
        let config = inspect
            .ipam
            .and_then(|ipam| ipam.config)
            .and_then(|configs| configs.into_iter().next())
            .unwrap_or_else(IpamConfig::default);
        let subnet = config.subnet.unwrap_or_default();
        let gateway = config
            .gateway
            .as_deref()
            .and_then(|g| g.parse().ok())
            .ok_or_else(|| RuntimeError::Network {
                name: name.to_string(),
                reason: format!("Docker gave no IPv4 gateway (subnet {subnet:?})"),
            })?;
        Ok(NetworkInfo {
            id: created.id,
            name: name.to_string(),
            subnet,
            gateway,
            bridge: bridge.to_string(),
        })
    }

    pub async fn remove_network(&self, name: &str) -> Result<(), RuntimeError> {
        match self.docker.remove_network(name).await {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(RuntimeError::docker(format!("remove network {name}"), e)),
        }
    }

    /// Creates a container without starting it, so files can be copied in first.
    pub async fn create_container(&self, config: ContainerConfig) -> Result<String, RuntimeError> {
        let endpoint = EndpointSettings {
            ipam_config: config.ip.map(|ip| EndpointIpamConfig {
                ipv4_address: Some(ip.to_string()),
                ..Default::default()
            }),
            ..Default::default()
        };
        // Every container carries its creator's session (see `session`): what a process may
        // remove is what it can prove no living process owns.
        let mut labels = config.labels.clone();
        labels.extend(super::session::labels());
        let body = ContainerCreateBody {
            image: Some(config.image.clone()),
            entrypoint: config.entrypoint.clone(),
            cmd: Some(config.cmd.clone()),
            env: Some(config.env.clone()),
            labels: Some(labels),
            user: config.user.clone(),
            host_config: Some(HostConfig {
                network_mode: Some(config.network.clone()),
                binds: (!config.binds.is_empty()).then(|| config.binds.clone()),
                sysctls: (!config.sysctls.is_empty()).then(|| config.sysctls.clone()),
                tmpfs: (!config.tmpfs.is_empty()).then(|| config.tmpfs.clone()),
                init: Some(false),
                ulimits: config.core_dumps.then(|| {
                    vec![bollard::models::ResourcesUlimits {
                        name: Some("core".into()),
                        soft: Some(-1),
                        hard: Some(-1),
                    }]
                }),
                ..Default::default()
            }),
            working_dir: config.working_dir.clone(),
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(config.network.clone(), endpoint)])),
            }),
            ..Default::default()
        };
        let options = CreateContainerOptionsBuilder::default()
            .name(&config.name)
            .build();
        let created = self
            .docker
            .create_container(Some(options), body)
            .await
            .map_err(|e| match &e {
                bollard::errors::Error::DockerResponseServerError {
                    status_code: 404, ..
                } => RuntimeError::ImageMissing {
                    image: config.image.clone(),
                },
                _ => RuntimeError::docker(format!("create container {}", config.name), e),
            })?;
        Ok(created.id)
    }

    /// Copies a tar archive into a created or running container at `/`.
    pub async fn upload(&self, container: &str, tar: Vec<u8>) -> Result<(), RuntimeError> {
        let options = UploadToContainerOptionsBuilder::default().path("/").build();
        self.docker
            .upload_to_container(container, Some(options), bollard::body_full(tar.into()))
            .await
            .map_err(|e| RuntimeError::docker(format!("copy files into {container}"), e))
    }

    pub async fn start(&self, container: &str) -> Result<(), RuntimeError> {
        self.docker
            .start_container(container, None)
            .await
            .map_err(|e| RuntimeError::docker(format!("start container {container}"), e))
    }

    /// Whether the container's main process still runs, and its exit code if not.
    pub async fn state(&self, container: &str) -> Result<(bool, Option<i64>), RuntimeError> {
        let inspect = self
            .docker
            .inspect_container(container, None)
            .await
            .map_err(|e| RuntimeError::docker(format!("inspect container {container}"), e))?;
        let state = inspect.state.unwrap_or_default();
        Ok((state.running.unwrap_or(false), state.exit_code))
    }

    /// The host PID of the container's main process (0 when it does not run).
    pub async fn main_pid(&self, container: &str) -> Result<u32, RuntimeError> {
        let inspect = self
            .docker
            .inspect_container(container, None)
            .await
            .map_err(|e| RuntimeError::docker(format!("inspect container {container}"), e))?;
        let pid = inspect.state.and_then(|s| s.pid).unwrap_or(0);
        Ok(u32::try_from(pid).unwrap_or(0))
    }

    /// How the container's main process ended (or that it still runs).
    pub async fn exit_state(&self, container: &str) -> Result<ExitState, RuntimeError> {
        let inspect = self
            .docker
            .inspect_container(container, None)
            .await
            .map_err(|e| RuntimeError::docker(format!("inspect container {container}"), e))?;
        let state = inspect.state.unwrap_or_default();
        Ok(ExitState {
            running: state.running.unwrap_or(false),
            exit_code: state.exit_code,
            oom_killed: state.oom_killed.unwrap_or(false),
            finished_at: state.finished_at.filter(|t| !t.starts_with("0001-01-01")),
        })
    }

    pub async fn kill(&self, container: &str, signal: &str) -> Result<(), RuntimeError> {
        let options = bollard::query_parameters::KillContainerOptionsBuilder::default()
            .signal(signal)
            .build();
        *super::outside::lock_sent()
            .entry(container.to_string())
            .or_default() += 1;
        self.docker
            .kill_container(container, Some(options))
            .await
            .map_err(|e| RuntimeError::docker(format!("send {signal} to {container}"), e))
    }

    /// The signals Docker logged as sent to `container` (its `kill` events) from `since_unix`
    /// (seconds since the epoch) to now, whoever sent them.
    pub async fn kill_events(
        &self,
        container: &str,
        since_unix: f64,
    ) -> Result<Vec<String>, RuntimeError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        let filters = HashMap::from([
            ("type", vec!["container"]),
            ("event", vec!["kill"]),
            ("container", vec![container]),
        ]);
        let options = bollard::query_parameters::EventsOptionsBuilder::default()
            .since(&format!("{since_unix:.3}"))
            .until(&format!("{:.3}", now + 0.001))
            .filters(&filters)
            .build();
        let events: Vec<_> = self
            .docker
            .events(Some(options))
            .try_collect()
            .await
            .map_err(|e| RuntimeError::docker(format!("read the events of {container}"), e))?;
        Ok(events
            .into_iter()
            .filter_map(|e| e.actor?.attributes?.get("signal").cloned())
            .collect())
    }

    pub async fn remove_container(&self, container: &str) -> Result<(), RuntimeError> {
        let options = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        match self.docker.remove_container(container, Some(options)).await {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) || is_conflict(&e) => Ok(()),
            Err(e) => Err(RuntimeError::docker(
                format!("remove container {container}"),
                e,
            )),
        }
    }

    /// Removes an image with all its tags; one that is already gone is not an error.
    pub async fn remove_image(&self, image: &str) -> Result<(), RuntimeError> {
        let options = bollard::query_parameters::RemoveImageOptionsBuilder::default()
            .force(true)
            .build();
        match self.docker.remove_image(image, Some(options), None).await {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(RuntimeError::docker(format!("remove image {image}"), e)),
        }
    }

    /// Both output streams of the container so far, interleaved as Docker recorded them.
    pub async fn logs(&self, container: &str) -> Result<String, RuntimeError> {
        let options = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .build();
        let what = || format!("read logs of {container}");
        let chunks: Vec<_> = within(what, LOGS_TIMEOUT, async {
            self.docker
                .logs(container, Some(options))
                .try_collect()
                .await
                .map_err(|e| RuntimeError::docker(what(), e))
        })
        .await?;
        Ok(chunks.iter().map(|c| c.to_string()).collect())
    }

    /// The output lines with the time Docker received each (its `timestamps` option), for
    /// timelines: HAProxy's own log lines carry no time in the raw format the scenarios use.
    pub async fn logs_timestamped(
        &self,
        container: &str,
    ) -> Result<Vec<(std::time::SystemTime, String)>, RuntimeError> {
        let options = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .timestamps(true)
            .build();
        let chunks: Vec<_> = self
            .docker
            .logs(container, Some(options))
            .try_collect()
            .await
            .map_err(|e| RuntimeError::docker(format!("read logs of {container}"), e))?;
        let text: String = chunks.iter().map(|c| c.to_string()).collect();
        Ok(text
            .lines()
            .filter_map(|line| {
                let (stamp, rest) = line.split_once(' ')?;
                let at = humantime::parse_rfc3339(stamp).ok()?;
                Some((at, rest.to_string()))
            })
            .collect())
    }

    /// Runs a command in a container to its exit, within [`EXEC_TIMEOUT`].
    pub async fn exec(&self, container: &str, cmd: &[&str]) -> Result<ExecOutput, RuntimeError> {
        let what = || format!("run {cmd:?} in {container}");
        within(what, EXEC_TIMEOUT, self.exec_unbounded(container, cmd)).await
    }

    async fn exec_unbounded(
        &self,
        container: &str,
        cmd: &[&str],
    ) -> Result<ExecOutput, RuntimeError> {
        use bollard::exec::{CreateExecOptions, StartExecResults};
        let what = || format!("run {cmd:?} in {container}");
        let exec = self
            .docker
            .create_exec(
                container,
                CreateExecOptions {
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| RuntimeError::docker(what(), e))?;
        let mut stdout = String::new();
        let mut stderr = String::new();
        if let StartExecResults::Attached { mut output, .. } = self
            .docker
            .start_exec(&exec.id, None)
            .await
            .map_err(|e| RuntimeError::docker(what(), e))?
        {
            while let Some(chunk) = output.next().await {
                match chunk.map_err(|e| RuntimeError::docker(what(), e))? {
                    bollard::container::LogOutput::StdErr { message } => {
                        stderr.push_str(&String::from_utf8_lossy(&message))
                    }
                    other => stdout.push_str(&String::from_utf8_lossy(&other.into_bytes())),
                }
            }
        }
        let inspect = self
            .docker
            .inspect_exec(&exec.id)
            .await
            .map_err(|e| RuntimeError::docker(what(), e))?;
        Ok(ExecOutput {
            exit_code: inspect.exit_code.unwrap_or(-1),
            stdout,
            stderr,
        })
    }

    /// Containers carrying all of these labels (`("k", "")` matches any value), running or not.
    pub async fn containers_labelled(
        &self,
        labels: &[(&str, &str)],
    ) -> Result<Vec<String>, RuntimeError> {
        let list = self.list_containers_with(labels).await?;
        Ok(list.into_iter().filter_map(|c| c.id).collect())
    }

    /// Containers carrying this label, with all their labels and creation times.
    pub async fn owned_containers(&self, label: &str) -> Result<Vec<Owned>, RuntimeError> {
        self.owned_containers_with(&[(label, "")]).await
    }

    /// Containers carrying all of these labels, with all their labels and creation times.
    pub async fn owned_containers_with(
        &self,
        labels: &[(&str, &str)],
    ) -> Result<Vec<Owned>, RuntimeError> {
        let list = self.list_containers_with(labels).await?;
        Ok(list
            .into_iter()
            .filter_map(|c| {
                Some(Owned {
                    id: c.id?,
                    labels: c.labels.unwrap_or_default(),
                    created: c.created,
                })
            })
            .collect())
    }

    /// Networks carrying this label, with all their labels.
    pub async fn owned_networks(&self, label: &str) -> Result<Vec<Owned>, RuntimeError> {
        self.owned_networks_with(&[(label, "")]).await
    }

    /// Networks carrying all of these labels, with all their labels.
    pub async fn owned_networks_with(
        &self,
        labels: &[(&str, &str)],
    ) -> Result<Vec<Owned>, RuntimeError> {
        let list = self.list_networks_with(labels).await?;
        Ok(list
            .into_iter()
            .filter_map(|n| {
                Some(Owned {
                    id: n.id?,
                    labels: n.labels.unwrap_or_default(),
                    created: None,
                })
            })
            .collect())
    }

    /// Whether the daemon runs on this host (a unix socket), so its pids are this host's.
    pub fn is_local(&self) -> bool {
        docker_endpoint().starts_with("unix://")
    }

    pub async fn networks_labelled(
        &self,
        labels: &[(&str, &str)],
    ) -> Result<Vec<String>, RuntimeError> {
        let list = self.list_networks_with(labels).await?;
        Ok(list.into_iter().filter_map(|n| n.name).collect())
    }

    async fn list_containers_with(
        &self,
        labels: &[(&str, &str)],
    ) -> Result<Vec<bollard::models::ContainerSummary>, RuntimeError> {
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&label_filter(labels))
            .build();
        self.docker
            .list_containers(Some(options))
            .await
            .map_err(|e| RuntimeError::docker("list containers".into(), e))
    }

    async fn list_networks_with(
        &self,
        labels: &[(&str, &str)],
    ) -> Result<Vec<bollard::models::Network>, RuntimeError> {
        let options = ListNetworksOptionsBuilder::default()
            .filters(&label_filter(labels))
            .build();
        self.docker
            .list_networks(Some(options))
            .await
            .map_err(|e| RuntimeError::docker("list networks".into(), e))
    }

    pub async fn images_labelled(
        &self,
        labels: &[(&str, &str)],
    ) -> Result<Vec<ImageSummary>, RuntimeError> {
        let options = ListImagesOptionsBuilder::default()
            .filters(&label_filter(labels))
            .build();
        let list = self
            .docker
            .list_images(Some(options))
            .await
            .map_err(|e| RuntimeError::docker("list images".into(), e))?;
        Ok(list
            .into_iter()
            .map(|i| ImageSummary {
                id: i.id,
                tags: i.repo_tags,
                labels: i.labels,
                size: i.size,
            })
            .collect())
    }

    /// The labels of a local image, or `None` when there is no such image.
    /// The ID of the image `reference` names now, `None` when there is none.
    pub async fn image_id(&self, reference: &str) -> Result<Option<String>, RuntimeError> {
        match self.docker.inspect_image(reference).await {
            Ok(image) => Ok(image.id),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(RuntimeError::docker(
                format!("inspect image {reference}"),
                e,
            )),
        }
    }

    pub async fn image_labels(
        &self,
        reference: &str,
    ) -> Result<Option<HashMap<String, String>>, RuntimeError> {
        match self.docker.inspect_image(reference).await {
            Ok(image) => Ok(Some(
                image.config.and_then(|c| c.labels).unwrap_or_default(),
            )),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(RuntimeError::docker(
                format!("inspect image {reference}"),
                e,
            )),
        }
    }

    /// Pulls an image; the error keeps Docker's words, which say whether a registry was reachable.
    pub async fn pull(&self, reference: &str) -> Result<(), RuntimeError> {
        let options = CreateImageOptionsBuilder::default()
            .from_image(reference)
            .build();
        let what = || format!("pull {reference}");
        within(what, IMAGE_TIMEOUT, async {
            self.docker
                .create_image(Some(options), None, None)
                .try_collect::<Vec<_>>()
                .await
                .map(|_| ())
                .map_err(|e| RuntimeError::docker(what(), e))
        })
        .await
    }

    /// `docker import`: turns a rootfs tarball into an image, with Dockerfile-style `changes`.
    pub async fn import_rootfs(
        &self,
        tarball: &std::path::Path,
        repo: &str,
        tag: &str,
        changes: Vec<String>,
    ) -> Result<(), RuntimeError> {
        let what = || format!("import {} as {repo}:{tag}", tarball.display());
        let file = tokio::fs::File::open(tarball)
            .await
            .map_err(|e| RuntimeError::Io(what(), e))?;
        let stream = tokio_util::io::ReaderStream::new(file);
        let mut options = CreateImageOptionsBuilder::default()
            .from_src("-")
            .repo(repo)
            .tag(tag)
            .build();
        options.changes = changes;
        within(what, IMAGE_TIMEOUT, async {
            self.docker
                .create_image(Some(options), Some(bollard::body_try_stream(stream)), None)
                .try_collect::<Vec<_>>()
                .await
                .map(|_| ())
                .map_err(|e| RuntimeError::docker(what(), e))
        })
        .await
    }

    pub async fn tag(&self, image: &str, repo: &str, tag: &str) -> Result<(), RuntimeError> {
        let options = bollard::query_parameters::TagImageOptionsBuilder::default()
            .repo(repo)
            .tag(tag)
            .build();
        self.docker
            .tag_image(image, Some(options))
            .await
            .map_err(|e| RuntimeError::docker(format!("tag {image} as {repo}:{tag}"), e))
    }

    /// Turns a (stopped) container into an image, with Dockerfile-style changes such as LABEL.
    pub async fn commit(
        &self,
        container: &str,
        repo: &str,
        tag: &str,
        changes: &str,
    ) -> Result<(), RuntimeError> {
        let options = CommitContainerOptionsBuilder::default()
            .container(container)
            .repo(repo)
            .tag(tag)
            .changes(changes)
            .build();
        self.docker
            .commit_container(options, bollard::models::ContainerConfig::default())
            .await
            .map(|_| ())
            .map_err(|e| RuntimeError::docker(format!("commit {container} as {repo}:{tag}"), e))
    }
}

fn is_not_found(e: &bollard::errors::Error) -> bool {
    matches!(
        e,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

fn is_conflict(e: &bollard::errors::Error) -> bool {
    // "removal of container ... is already in progress"
    matches!(
        e,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 409,
            ..
        }
    )
}

impl Engine {
    /// Runs a command to completion in a throwaway container with no network, for facts about
    /// an image (`haproxy -v`), and returns its exit code and output.
    pub async fn run_once(
        &self,
        image: &str,
        entrypoint: &[&str],
        labels: HashMap<String, String>,
    ) -> Result<(i64, String), RuntimeError> {
        self.run_once_with(image, entrypoint, labels, None).await
    }

    /// [`Engine::run_once`], with a tar archive copied in at `/` before the command starts
    /// (a built binary over the image's own).
    pub async fn run_once_with(
        &self,
        image: &str,
        entrypoint: &[&str],
        labels: HashMap<String, String>,
        files: Option<Vec<u8>>,
    ) -> Result<(i64, String), RuntimeError> {
        let name = format!("haprepro-probe-{:08x}", rand::random::<u32>());
        let id = self
            .create_container(ContainerConfig {
                name,
                image: image.to_string(),
                entrypoint: Some(entrypoint.iter().map(|s| s.to_string()).collect()),
                labels,
                network: "none".into(),
                user: Some("0".into()),
                ..Default::default()
            })
            .await?;
        let result = async {
            if let Some(tar) = files {
                self.upload(&id, tar).await?;
            }
            self.run_to_exit(&id, &format!("run {entrypoint:?} in {image}"))
                .await
        }
        .await;
        self.remove_container(&id).await?;
        result
    }

    /// Starts a created container and waits (at most a minute) for it to exit: its exit code
    /// and output.
    pub async fn run_to_exit(&self, id: &str, what: &str) -> Result<(i64, String), RuntimeError> {
        within(|| what.to_string(), RUN_ONCE_TIMEOUT, async {
            self.start(id).await?;
            let code = self
                .docker
                .wait_container(id, None::<bollard::query_parameters::WaitContainerOptions>)
                .try_collect::<Vec<_>>()
                .await
                .map(|r| r.last().map(|w| w.status_code).unwrap_or(0))
                .or_else(|e| match e {
                    bollard::errors::Error::DockerContainerWaitError { code, .. } => Ok(code),
                    e => Err(RuntimeError::docker(what.to_string(), e)),
                })?;
            Ok((code, self.logs(id).await?))
        })
        .await
    }

    /// Creates a stopped container from `image`, for [`Engine::upload`] then [`Engine::commit`].
    pub async fn create_stopped(
        &self,
        image: &str,
        labels: HashMap<String, String>,
    ) -> Result<String, RuntimeError> {
        self.create_container(ContainerConfig {
            name: format!("haprepro-layer-{:08x}", rand::random::<u32>()),
            image: image.to_string(),
            entrypoint: Some(vec!["true".into()]),
            labels,
            network: "none".into(),
            ..Default::default()
        })
        .await
    }
}

/// Calls of source builds: a long-running builder container whose output is followed, files
/// copied out of it, and the named volume of the compiler cache.
impl Engine {
    /// Follows a container's output from its start until it exits, calling `on_line` per line
    /// (stdout and stderr interleaved).
    pub async fn follow_output(
        &self,
        container: &str,
        on_line: &mut (dyn FnMut(&str) + Send),
    ) -> Result<(), RuntimeError> {
        let options = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .follow(true)
            .build();
        let mut stream = self.docker.logs(container, Some(options));
        let mut pending = String::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| {
                RuntimeError::docker(format!("follow the output of {container}"), e)
            })?;
            pending.push_str(&chunk.to_string());
            while let Some(end) = pending.find('\n') {
                let line: String = pending.drain(..=end).collect();
                on_line(line.trim_end_matches(['\n', '\r']));
            }
        }
        if !pending.is_empty() {
            on_line(&pending);
        }
        Ok(())
    }

    /// Writes a container's file system, as the tar archive Docker exports, into `to`.
    pub async fn export(&self, container: &str, to: &std::path::Path) -> Result<(), RuntimeError> {
        use tokio::io::AsyncWriteExt;
        let mut file = tokio::fs::File::create(to)
            .await
            .map_err(|e| RuntimeError::Io(format!("create {}", to.display()), e))?;
        let mut stream = self.docker.export_container(container);
        while let Some(chunk) = stream.next().await {
            let chunk =
                chunk.map_err(|e| RuntimeError::docker(format!("export {container}"), e))?;
            file.write_all(&chunk)
                .await
                .map_err(|e| RuntimeError::Io(format!("write {}", to.display()), e))?;
        }
        file.flush()
            .await
            .map_err(|e| RuntimeError::Io(format!("write {}", to.display()), e))
    }

    /// Waits for a container to exit and returns its exit code.
    pub async fn wait_exit(&self, container: &str) -> Result<i64, RuntimeError> {
        self.docker
            .wait_container(
                container,
                None::<bollard::query_parameters::WaitContainerOptions>,
            )
            .try_collect::<Vec<_>>()
            .await
            .map(|r| r.last().map(|w| w.status_code).unwrap_or(0))
            .or_else(|e| match e {
                bollard::errors::Error::DockerContainerWaitError { code, .. } => Ok(code),
                e => Err(RuntimeError::docker(format!("wait for {container}"), e)),
            })
    }

    /// A path of a (stopped or running) container, as the tar archive Docker makes of it.
    pub async fn download(&self, container: &str, path: &str) -> Result<Vec<u8>, RuntimeError> {
        let options = bollard::query_parameters::DownloadFromContainerOptionsBuilder::default()
            .path(path)
            .build();
        let chunks: Vec<_> = self
            .docker
            .download_from_container(container, Some(options))
            .try_collect()
            .await
            .map_err(|e| RuntimeError::docker(format!("copy {path} out of {container}"), e))?;
        Ok(chunks.concat())
    }

    /// Creates a named volume with labels unless it exists.
    pub async fn ensure_volume(
        &self,
        name: &str,
        labels: HashMap<String, String>,
    ) -> Result<(), RuntimeError> {
        match self.docker.inspect_volume(name).await {
            Ok(_) => return Ok(()),
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(RuntimeError::docker(format!("inspect volume {name}"), e)),
        }
        let request = bollard::models::VolumeCreateRequest {
            name: Some(name.to_string()),
            labels: Some(labels),
            ..Default::default()
        };
        self.docker
            .create_volume(request)
            .await
            .map(|_| ())
            .map_err(|e| RuntimeError::docker(format!("create volume {name}"), e))
    }

    /// Removes a named volume; one that is already gone is not an error.
    pub async fn remove_volume(&self, name: &str) -> Result<bool, RuntimeError> {
        match self
            .docker
            .remove_volume(name, None::<bollard::query_parameters::RemoveVolumeOptions>)
            .await
        {
            Ok(()) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(RuntimeError::docker(format!("remove volume {name}"), e)),
        }
    }
}
