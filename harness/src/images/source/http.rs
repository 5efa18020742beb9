//! Plain HTTP GET of a Debian mirror's files, with deadlines and a size cap: a mirror that does
//! not answer, or answers without end, is an error after a bounded wait and a bounded number of
//! bytes, never a hang or a full disk. hyper is already in the build (bollard's), so no other
//! HTTP client is pulled in; the mirrors haprepro uses speak plain HTTP, which is why nothing
//! fetched is trusted before its signature or its signed checksum is checked (`signed_index`).
//! Redirects are not followed: a mirror that moved is named, with where it points.

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
    #[error("the answer is longer than the {limit} bytes allowed for this file")]
    TooLarge { limit: u64 },
    #[error("the server redirects to {location:?} ({status}); redirects are not followed\n  Set `mirror` in images/catalog.toml to the address that serves the files.")]
    Redirect { status: u16, location: String },
    #[error("{0}")]
    Failed(String),
}

/// The time allowed for the answer's headers, and for the whole body.
const HEADERS_WITHIN: Duration = Duration::from_secs(20);
const BODY_WITHIN: Duration = Duration::from_secs(180);

/// Fetches `url` whole, refusing more than `max_bytes`.
pub async fn get(url: &str, max_bytes: u64) -> Result<Vec<u8>, FetchError> {
    get_within(url, max_bytes, HEADERS_WITHIN, BODY_WITHIN).await
}

/// [`get`] with its deadlines given.
pub async fn get_within(
    url: &str,
    max_bytes: u64,
    headers_within: Duration,
    body_within: Duration,
) -> Result<Vec<u8>, FetchError> {
    let uri: hyper::Uri = url
        .parse()
        .map_err(|e| FetchError::Failed(format!("not a URL: {e}")))?;
    if uri.scheme_str() != Some("http") {
        return Err(FetchError::Failed(
            "only http:// mirrors are supported (no TLS client is built in)".into(),
        ));
    }
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let response = tokio::time::timeout(headers_within, client.get(uri))
        .await
        .map_err(|_| FetchError::Timeout(headers_within))?
        .map_err(|e| FetchError::Failed(e.to_string()))?;
    let status = response.status().as_u16();
    match status {
        200 => {}
        404 | 410 => return Err(FetchError::NotFound { status }),
        300..=399 => {
            let location = response
                .headers()
                .get(hyper::header::LOCATION)
                .map(|l| String::from_utf8_lossy(l.as_bytes()).into_owned())
                .unwrap_or_default();
            return Err(FetchError::Redirect { status, location });
        }
        _ => return Err(FetchError::Status { status }),
    }
    let limited = http_body_util::Limited::new(
        response.into_body(),
        usize::try_from(max_bytes).unwrap_or(usize::MAX),
    );
    let body = tokio::time::timeout(body_within, limited.collect())
        .await
        .map_err(|_| FetchError::Timeout(body_within))?
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                FetchError::TooLarge { limit: max_bytes }
            } else {
                FetchError::Failed(e.to_string())
            }
        })?;
    Ok(body.to_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A one-connection HTTP server on loopback answering `answer` (or nothing at all).
    async fn serve(answer: Option<&'static str>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = conn.read(&mut buf).await;
            match answer {
                Some(a) => {
                    let _ = conn.write_all(a.as_bytes()).await;
                }
                None => tokio::time::sleep(Duration::from_secs(30)).await,
            }
        });
        format!("http://{addr}/pool/main/h/haproxy/haproxy_9.9.dsc")
    }

    #[tokio::test]
    async fn a_missing_file_is_not_found_and_a_silent_server_times_out() {
        let url = serve(Some("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")).await;
        let err = get(&url, 100).await.unwrap_err();
        assert!(matches!(err, FetchError::NotFound { status: 404 }), "{err}");
        let url = serve(Some("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello")).await;
        assert_eq!(get(&url, 100).await.unwrap(), b"hello");
        let url = serve(Some("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello")).await;
        let err = get(&url, 4).await.unwrap_err();
        assert!(matches!(err, FetchError::TooLarge { limit: 4 }), "{err}");
        let url = serve(Some(
            "HTTP/1.1 301 Moved\r\nlocation: http://elsewhere/x\r\ncontent-length: 0\r\n\r\n",
        ))
        .await;
        let err = get(&url, 100).await.unwrap_err();
        assert!(
            matches!(&err, FetchError::Redirect { status: 301, location } if location == "http://elsewhere/x"),
            "{err}"
        );
        let url = serve(None).await;
        let started = std::time::Instant::now();
        let err = get_within(
            &url,
            100,
            Duration::from_millis(300),
            Duration::from_secs(1),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, FetchError::Timeout(_)), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5), "no hang");
        assert!(
            get("https://deb.debian.org/x", 100).await.is_err(),
            "https is refused"
        );
    }
}
