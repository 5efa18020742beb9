//! Plain HTTP GET of a Debian mirror's files, with deadlines: a mirror that does not answer is
//! an error after a bounded wait, never a hang. hyper is already in the build (bollard's), so
//! no other HTTP client is pulled in; the mirrors haprepro uses speak plain HTTP.

use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Why a GET gave no file.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("the server answered {status} (the file is not there)")]
    NotFound { status: u16 },
    #[error("the server answered {status}")]
    Status { status: u16 },
    #[error("no complete answer within {0:?}")]
    Timeout(Duration),
    #[error("{0}")]
    Failed(String),
}

/// The time allowed for the answer's headers, and for the whole body.
const HEADERS_WITHIN: Duration = Duration::from_secs(20);
const BODY_WITHIN: Duration = Duration::from_secs(180);

/// Fetches `url` whole.
pub async fn get(url: &str) -> Result<Vec<u8>, FetchError> {
    let uri: hyper::Uri = url
        .parse()
        .map_err(|e| FetchError::Failed(format!("not a URL: {e}")))?;
    if uri.scheme_str() != Some("http") {
        return Err(FetchError::Failed(
            "only http:// mirrors are supported (no TLS client is built in)".into(),
        ));
    }
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let response = tokio::time::timeout(HEADERS_WITHIN, client.get(uri))
        .await
        .map_err(|_| FetchError::Timeout(HEADERS_WITHIN))?
        .map_err(|e| FetchError::Failed(e.to_string()))?;
    let status = response.status().as_u16();
    match status {
        200 => {}
        404 | 410 => return Err(FetchError::NotFound { status }),
        _ => return Err(FetchError::Status { status }),
    }
    let body = tokio::time::timeout(BODY_WITHIN, response.into_body().collect())
        .await
        .map_err(|_| FetchError::Timeout(BODY_WITHIN))?
        .map_err(|e| FetchError::Failed(e.to_string()))?;
    Ok(body.to_bytes().to_vec())
}
