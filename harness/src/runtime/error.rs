/// What can go wrong between haprepro and Docker.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(
        "cannot reach the Docker daemon at {endpoint}\n  \
         Start it (`systemctl start docker`, or `dockerd &` where there is no systemd), \
         or point DOCKER_HOST at a running one."
    )]
    DockerUnavailable {
        endpoint: String,
        #[source]
        source: bollard::errors::Error,
    },
    #[error("Docker failed to {action}")]
    Docker {
        action: String,
        #[source]
        source: bollard::errors::Error,
    },
    #[error("image {image} is not on this machine\n  Build it with `haprepro images build`, or see `haprepro images list`.")]
    ImageMissing { image: String },
    #[error("subnet {subnet} overlaps a network that exists already")]
    SubnetTaken { subnet: String },
    #[error("network {name}: {reason}")]
    Network { name: String, reason: String },
    #[error("container {name}: its main process does not run")]
    NotRunning { name: String },
    /// No subnet for a case network: a bad `HAPREPRO_SUBNETS`, or none of it free.
    #[error(transparent)]
    Subnets(#[from] super::subnets::SubnetError),
    #[error("container {name} exited (code {code:?}) before it was ready; its output:\n{logs}")]
    Exited {
        name: String,
        code: Option<i64>,
        logs: String,
    },
    #[error("cannot {0}")]
    Io(String, #[source] std::io::Error),
    /// An address of a role on the case bridge.
    #[error(transparent)]
    Address(#[from] super::bridge_addr::AddrError),
    #[error("Docker did not {action} within {after:?}: the daemon is stuck or overloaded")]
    Timeout {
        action: String,
        after: std::time::Duration,
    },
}

impl RuntimeError {
    /// A failed Docker call: an unreachable daemon when the connection itself failed (the
    /// daemon stopped or restarting mid-run), a harness problem that every later case would
    /// hit too; Docker's refusal of this one call otherwise.
    pub(crate) fn docker(action: String, source: bollard::errors::Error) -> RuntimeError {
        if lost_connection(&source) {
            return RuntimeError::DockerUnavailable {
                endpoint: super::engine::docker_endpoint(),
                source,
            };
        }
        RuntimeError::Docker { action, source }
    }
}

/// Whether a Docker call failed for want of a daemon, not of what it asked.
fn lost_connection(e: &bollard::errors::Error) -> bool {
    use bollard::errors::Error as E;
    match e {
        E::SocketNotFoundError(_) | E::IOError { .. } => true,
        E::HyperLegacyError { err } => err.is_connect(),
        E::HyperResponseError { err } => err.is_closed() || err.is_incomplete_message(),
        _ => false,
    }
}
