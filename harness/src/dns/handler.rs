//! The hickory `RequestHandler`: turns one query into a zone lookup, applies the fault, sends
//! the answer and logs what was done.
//!
//! Delayed answers are sent from a task of their own so that neither UDP (where hickory already
//! runs requests concurrently) nor a TCP connection (where hickory handles one request after
//! the other) holds other queries back while a delay runs.

use std::iter;
use std::time::{Duration, SystemTime};

use hickory_proto::op::{Edns, Header, HeaderCounts, Metadata, OpCode, ResponseCode};
use hickory_proto::rr::Record;
use hickory_proto::serialize::binary::BinDecoder;
use hickory_server::net::runtime::Time;
use hickory_server::net::xfer::Protocol as WireProtocol;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::{MessageResponseBuilder, Queries};
use tokio_util::sync::CancellationToken;

use super::fault::Fault;
use super::log::{Protocol, QueryLog, QueryRecord};
use super::zone::{Lookup, Outcome, Zone};

/// Answers queries from a [`Zone`] and writes each one to a [`QueryLog`].
pub(crate) struct Handler {
    pub(crate) zone: Zone,
    pub(crate) log: QueryLog,
    /// Cancels delayed answers still waiting when the server stops.
    pub(crate) shutdown: CancellationToken,
}

/// A response, owned, so it can be sent now or after a delay.
struct Reply {
    metadata: Metadata,
    answers: Vec<Record>,
    additionals: Vec<Record>,
    soa: Option<Record>,
}

impl Reply {
    fn new(request: &Request, code: ResponseCode) -> Reply {
        let mut metadata = Metadata::response_from_request(&request.metadata);
        metadata.authoritative = true;
        metadata.response_code = code;
        Reply {
            metadata,
            answers: Vec::new(),
            additionals: Vec::new(),
            soa: None,
        }
    }

    /// "NOERROR 3 answers 3 additional", "NXDOMAIN", "NOERROR 0 answers (NODATA)".
    fn describe(&self) -> String {
        let code = self.metadata.response_code;
        if code != ResponseCode::NoError {
            return mnemonic(code);
        }
        let n = self.answers.len();
        let mut s = format!("NOERROR {n} answer{}", if n == 1 { "" } else { "s" });
        if n == 0 {
            s.push_str(" (NODATA)");
        }
        if !self.additionals.is_empty() {
            s.push_str(&format!(" {} additional", self.additionals.len()));
        }
        s
    }

    fn not_sent(&self) -> ResponseInfo {
        ResponseInfo::from(Header {
            metadata: self.metadata,
            counts: HeaderCounts::default(),
        })
    }
}

#[async_trait::async_trait]
impl RequestHandler for Handler {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        response_handle: R,
    ) -> ResponseInfo {
        let at = SystemTime::now();
        let client = request.src();
        let protocol = match request.protocol() {
            WireProtocol::Udp => Protocol::Udp,
            _ => Protocol::Tcp,
        };
        let edns = response_edns(request);
        let log = |name: String, qtype: String, answer: String| {
            self.log.push(QueryRecord {
                at,
                client,
                protocol,
                name,
                qtype,
                answer,
            })
        };

        if request.metadata.op_code != OpCode::Query {
            let reply = Reply::new(request, ResponseCode::NotImp);
            log(
                String::new(),
                format!("opcode {:?}", request.metadata.op_code),
                reply.describe(),
            );
            return send(response_handle, &request.queries, edns.as_ref(), &reply).await;
        }
        let Ok(info) = request.request_info() else {
            let reply = Reply::new(request, ResponseCode::FormErr);
            let what = format!("{} questions", request.queries.len());
            log(String::new(), what, reply.describe());
            return send(response_handle, &request.queries, edns.as_ref(), &reply).await;
        };
        // Lowercase (hickory's LowerName), fully qualified: predicates compare it verbatim.
        let name = info.query.name().to_string();
        let qtype = info.query.query_type();
        let lookup = self.zone.lookup(&name, qtype, client.ip());
        let log = |answer: String| log(name.clone(), qtype.to_string(), answer);

        let fault = match lookup.fault {
            Some(Fault::Truncate) if protocol == Protocol::Tcp => None,
            other => other,
        };
        let reply = match fault {
            None | Some(Fault::Delay(_)) => answer(request, lookup),
            Some(Fault::Drop) => {
                log("dropped (fault)".to_string());
                return Reply::new(request, ResponseCode::NoError).not_sent();
            }
            Some(Fault::ServFail) => Reply::new(request, ResponseCode::ServFail),
            Some(Fault::NxDomain) => Reply::new(request, ResponseCode::NXDomain),
            Some(Fault::Refused) => Reply::new(request, ResponseCode::Refused),
            Some(Fault::Truncate) => {
                let mut reply = Reply::new(request, ResponseCode::NoError);
                reply.metadata.truncation = true;
                reply
            }
        };
        let described = match fault {
            None => reply.describe(),
            Some(Fault::Delay(d)) => format!("delayed {} then {}", ms(d), reply.describe()),
            Some(Fault::Truncate) => "truncated, TC set, no records (fault)".to_string(),
            Some(_) => format!("{} (fault)", reply.describe()),
        };
        log(described);

        let Some(Fault::Delay(delay)) = fault else {
            return send(response_handle, &request.queries, edns.as_ref(), &reply).await;
        };
        // hickory lends the request only for this call, so the delayed task re-reads its own
        // copy of the question section (Queries is not Clone).
        let mut decoder = BinDecoder::new(request.queries.as_bytes());
        // These bytes already decoded once, so this cannot fail in practice; if it did, the
        // query would go unanswered, as if dropped.
        let Ok(queries) = Queries::read(&mut decoder, request.queries.len()) else {
            return reply.not_sent();
        };
        let info = reply.not_sent();
        let shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = tokio::time::sleep(delay) => {
                    send(response_handle, &queries, edns.as_ref(), &reply).await;
                }
                () = shutdown.cancelled() => {}
            }
        });
        info
    }
}

/// The normal answer from the zone.
fn answer(request: &Request, lookup: Lookup) -> Reply {
    match lookup.outcome {
        Outcome::Refused => Reply::new(request, ResponseCode::Refused),
        Outcome::NxDomain { soa } => {
            let mut reply = Reply::new(request, ResponseCode::NXDomain);
            reply.soa = Some(soa);
            reply
        }
        Outcome::Answer {
            answers,
            additionals,
            soa,
        } => {
            let mut reply = Reply::new(request, ResponseCode::NoError);
            reply.answers = answers;
            reply.additionals = additionals;
            reply.soa = soa;
            reply
        }
    }
}

/// EDNS for the response when the query had it: version 0, the client's payload size (at least
/// 512), as hickory's own catalog does.
fn response_edns(request: &Request) -> Option<Edns> {
    request.edns.as_ref().map(|req| {
        let mut edns = Edns::new();
        edns.set_max_payload(req.max_payload().max(512));
        edns.set_version(0);
        edns
    })
}

async fn send<R: ResponseHandler>(
    mut handle: R,
    queries: &Queries,
    edns: Option<&Edns>,
    reply: &Reply,
) -> ResponseInfo {
    let response = MessageResponseBuilder::new(queries, edns).build(
        reply.metadata,
        reply.answers.iter(),
        iter::empty(),
        reply.soa.iter(),
        reply.additionals.iter(),
    );
    // A send fails only when the client is gone (closed TCP connection); nothing to do then.
    handle
        .send_response(response)
        .await
        .unwrap_or_else(|_| reply.not_sent())
}

/// The rcode as dig prints it ("NXDOMAIN"); hickory's `to_str` gives prose ("Non-Existent
/// Domain").
fn mnemonic(code: ResponseCode) -> String {
    match code {
        ResponseCode::NoError => "NOERROR".to_string(),
        ResponseCode::FormErr => "FORMERR".to_string(),
        ResponseCode::ServFail => "SERVFAIL".to_string(),
        ResponseCode::NXDomain => "NXDOMAIN".to_string(),
        ResponseCode::NotImp => "NOTIMP".to_string(),
        ResponseCode::Refused => "REFUSED".to_string(),
        other => format!("rcode {}", u16::from(other)),
    }
}

fn ms(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}
