//! Backends on loopback: each connection mode and answer does what its doc says, as a client
//! sees it, and the log records it.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::*;

fn free_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

fn start(name: &str, mode: Mode, behaviour: Behaviour) -> Backend {
    Backend::start(name, mode, free_addr(), behaviour, Instant::now()).unwrap()
}

async fn read_all(s: &mut TcpStream) -> std::io::Result<String> {
    let mut out = Vec::new();
    s.read_to_end(&mut out).await?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[tokio::test]
async fn http_and_tcp_modes_name_the_server() {
    let b = start("web9", Mode::Http, Behaviour::default());
    let mut s = TcpStream::connect(b.addr()).await.unwrap();
    s.write_all(
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await
    .unwrap();
    let out = read_all(&mut s).await.unwrap();
    assert_eq!(out.matches("X-Server: web9").count(), 2, "{out}");

    let b = start("s1", Mode::Tcp, Behaviour::default());
    let mut s = TcpStream::connect(b.addr()).await.unwrap();
    s.write_all(b"ping").await.unwrap();
    s.shutdown().await.unwrap();
    assert_eq!(read_all(&mut s).await.unwrap(), "s1\nping");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let log = b.log().connections();
    assert_eq!(log.len(), 1);
    assert_eq!((log[0].bytes_in, log[0].bytes_out), (4, 7), "{log:?}");
    assert_eq!(log[0].ended.as_deref(), Some("peer closed"));
    b.shutdown().await;
}

#[tokio::test]
async fn http_answers_as_told_and_closes() {
    let behaviour = Behaviour {
        http: HttpAnswer {
            status: 503,
            headers: vec![("Retry-After".into(), "1".into())],
            body: Some("busy".into()),
            delay: Duration::from_millis(100),
            close: true,
        },
        ..Default::default()
    };
    let b = start("web1", Mode::Http, behaviour);
    let mut s = TcpStream::connect(b.addr()).await.unwrap();
    let t = Instant::now();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let out = read_all(&mut s).await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(100));
    assert!(out.starts_with("HTTP/1.1 503 "), "{out}");
    assert!(
        out.contains("Retry-After: 1\r\n") && out.ends_with("busy"),
        "{out}"
    );
}

#[tokio::test]
async fn tcp_banner_delay_and_close_after_bytes() {
    let behaviour = Behaviour {
        tcp: TcpAnswer {
            banner: Some("hello".into()),
            echo: false,
            delay: Duration::from_millis(100),
            close_after: Some(3),
        },
        ..Default::default()
    };
    let b = start("s1", Mode::Tcp, behaviour);
    let mut s = TcpStream::connect(b.addr()).await.unwrap();
    let t = Instant::now();
    s.write_all(b"abcdef").await.unwrap();
    assert_eq!(read_all(&mut s).await.unwrap(), "hello\n");
    assert!(t.elapsed() >= Duration::from_millis(100));
}

#[tokio::test]
async fn refuse_reset_hang_and_back_to_accept() {
    let b = start("s1", Mode::Tcp, Behaviour::default());
    let set = |c: Connections| {
        b.set_behaviour(Behaviour {
            connections: c,
            ..Default::default()
        })
    };
    // Each `set(..).await` returns with the mode in place: no waits needed.
    set(Connections::Refuse).await.unwrap();
    let e = TcpStream::connect(b.addr()).await.unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused);

    set(Connections::Reset).await.unwrap();
    let mut s = TcpStream::connect(b.addr()).await.unwrap();
    let e = read_all(&mut s).await.unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset);

    set(Connections::Hang).await.unwrap();
    let mut s = TcpStream::connect(b.addr()).await.unwrap();
    s.write_all(b"ping").await.unwrap();
    let mut buf = [0u8; 8];
    let waited = tokio::time::timeout(Duration::from_millis(200), s.read(&mut buf)).await;
    assert!(waited.is_err(), "a hung connection must not answer");

    set(Connections::Accept).await.unwrap();
    let mut s = TcpStream::connect(b.addr()).await.unwrap();
    let mut banner = [0u8; 3];
    s.read_exact(&mut banner).await.unwrap();
    assert_eq!(&banner, b"s1\n");
    let ended: Vec<_> = b.log().connections().into_iter().map(|c| c.ended).collect();
    assert_eq!(
        ended[0].as_deref(),
        Some("reset by the backend"),
        "{ended:?}"
    );
    assert_eq!(
        ended.len(),
        3,
        "refused connects are not connections: {ended:?}"
    );
}

#[tokio::test]
async fn unreachable_leaves_connects_pending_then_accepts_again() {
    let b = start("s1", Mode::Tcp, Behaviour::default());
    b.set_behaviour(Behaviour {
        connections: Connections::Unreachable,
        ..Default::default()
    })
    .await
    .unwrap();
    for _ in 0..3 {
        let pending =
            tokio::time::timeout(Duration::from_millis(300), TcpStream::connect(b.addr())).await;
        assert!(
            pending.is_err(),
            "the connect must stay pending: {pending:?}"
        );
    }
    b.set_behaviour(Behaviour::default()).await.unwrap();
    let mut s = tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(b.addr()))
        .await
        .expect("connects again")
        .unwrap();
    let mut banner = [0u8; 3];
    s.read_exact(&mut banner).await.unwrap();
    assert_eq!(&banner, b"s1\n");
    assert!(
        b.log()
            .connections()
            .iter()
            .all(|c| c.accepted_as == "accept"),
        "the filler is not logged: {:?}",
        b.log().connections()
    );
}

#[tokio::test]
async fn slow_accept_delays_each_answer() {
    let b = start(
        "s1",
        Mode::Tcp,
        Behaviour {
            connections: Connections::SlowAccept(Duration::from_millis(200)),
            ..Default::default()
        },
    );
    let t = Instant::now();
    let mut s = TcpStream::connect(b.addr()).await.unwrap();
    let mut banner = [0u8; 3];
    s.read_exact(&mut banner).await.unwrap();
    assert!(
        t.elapsed() >= Duration::from_millis(180),
        "{:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn an_address_in_use_names_the_backend() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let e = Backend::start("s7", Mode::Tcp, addr, Behaviour::default(), Instant::now())
        .err()
        .expect("the address is taken");
    let text = e.to_string();
    assert!(
        text.contains("backend s7") && text.contains("in use"),
        "{text}"
    );
}
