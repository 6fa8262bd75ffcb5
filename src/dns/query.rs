//! One uncached DNS query to one named server, over UDP and, when the answer is truncated, TCP
//! (RFC 1035 4.2). The propagation, CAA and CNAME checks ask a given server what it answers now;
//! they need no resolver (no cache, no search list, no server pool), so this is all of it.
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use simple_dns::rdata::TXT;
use simple_dns::{
    Name, Packet, PacketFlag, Question, ResourceRecord, CLASS, QCLASS, QTYPE, RCODE, TYPE,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// The whole exchange (UDP and a TCP retry) gets this long, as one attempt of hickory did.
const TIMEOUT: Duration = Duration::from_secs(3);

/// Why a query got no usable answer.
#[derive(Debug)]
pub(super) enum QueryError {
    /// Nothing matching our query arrived in time.
    Timeout {
        addr: SocketAddr,
        after: Duration,
    },
    /// The server answered an error rcode (SERVFAIL, REFUSED…): it said nothing about the name.
    Rcode(RCODE),
    /// The name cannot be put in a query, or a reply to our query cannot be parsed.
    Malformed(String),
    Io(std::io::Error),
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout { addr, after } => write!(f, "no answer from {addr} within {after:?}"),
            Self::Rcode(rcode) => write!(f, "the server answered {}", rcode_name(*rcode)),
            Self::Malformed(e) => f.write_str(e),
            Self::Io(e) => write!(f, "{e}"),
        }
    }
}

impl From<std::io::Error> for QueryError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

fn rcode_name(rcode: RCODE) -> String {
    match rcode {
        RCODE::FormatError => "FORMERR".into(),
        RCODE::ServerFailure => "SERVFAIL".into(),
        RCODE::NotImplemented => "NOTIMP".into(),
        RCODE::Refused => "REFUSED".into(),
        other => format!("{other:?}"),
    }
}

/// The answer section of `addr`'s reply to `name`/`qtype` (class IN, RD set): empty for
/// NXDOMAIN; `Err` for any other error rcode and for silence, which never means "no records".
pub(super) async fn lookup(
    addr: SocketAddr,
    name: &str,
    qtype: TYPE,
) -> Result<Vec<ResourceRecord<'static>>, QueryError> {
    lookup_within(addr, name, qtype, TIMEOUT).await
}

async fn lookup_within(
    addr: SocketAddr,
    name: &str,
    qtype: TYPE,
    timeout: Duration,
) -> Result<Vec<ResourceRecord<'static>>, QueryError> {
    let qname = Name::new(name).map_err(|e| QueryError::Malformed(format!("`{name}`: {e}")))?;
    let question = Question::new(qname, QTYPE::TYPE(qtype), QCLASS::CLASS(CLASS::IN), false);
    let id: u16 = rand::random();
    let mut query = Packet::new_query(id);
    query.set_flags(PacketFlag::RECURSION_DESIRED);
    query.questions.push(question.clone());
    let bytes = query
        .build_bytes_vec()
        .map_err(|e| QueryError::Malformed(format!("`{name}`: {e}")))?;
    let exchange = async {
        match udp(addr, &bytes, id, &question).await? {
            Some(records) => Ok(records),
            None => tcp(addr, &bytes, id, &question).await,
        }
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .unwrap_or(Err(QueryError::Timeout {
            addr,
            after: timeout,
        }))
}

/// Send `query` over UDP and wait for its reply; `None` when that reply is truncated.
async fn udp(
    addr: SocketAddr,
    query: &[u8],
    id: u16,
    question: &Question<'_>,
) -> Result<Option<Vec<ResourceRecord<'static>>>, QueryError> {
    let local: SocketAddr = if addr.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(local).await?;
    // Connected: the kernel drops datagrams from any other address.
    socket.connect(addr).await?;
    socket.send(query).await?;
    let mut buf = vec![0; 65_535];
    loop {
        let n = socket.recv(&mut buf).await?;
        match check(&buf[..n], id, question) {
            Reply::Stray => continue,
            Reply::Truncated => return Ok(None),
            Reply::Answer(answer) => return answer.map(Some),
        }
    }
}

/// Send `query` over TCP with its 2-byte length prefix (RFC 1035 4.2.2) and read one reply.
async fn tcp(
    addr: SocketAddr,
    query: &[u8],
    id: u16,
    question: &Question<'_>,
) -> Result<Vec<ResourceRecord<'static>>, QueryError> {
    let mut stream = TcpStream::connect(addr).await?;
    let len =
        u16::try_from(query.len()).map_err(|_| QueryError::Malformed("query too long".into()))?;
    let mut framed = len.to_be_bytes().to_vec();
    framed.extend_from_slice(query);
    stream.write_all(&framed).await?;
    let len = stream.read_u16().await?;
    let mut buf = vec![0; usize::from(len)];
    stream.read_exact(&mut buf).await?;
    match check(&buf, id, question) {
        Reply::Answer(answer) => answer,
        // One connection carries only our query: anything else is the server's fault.
        Reply::Stray | Reply::Truncated => Err(QueryError::Malformed(format!(
            "{addr} sent a TCP reply that does not answer the query"
        ))),
    }
}

/// What one received message is to our query.
enum Reply {
    /// Not a reply to it (another id or question): keep waiting.
    Stray,
    /// A reply with TC set: ask again over TCP.
    Truncated,
    Answer(Result<Vec<ResourceRecord<'static>>, QueryError>),
}

fn check(msg: &[u8], id: u16, question: &Question<'_>) -> Reply {
    // Header bytes first: a truncated reply may be cut inside a record and not parse.
    if msg.len() < 12 || u16::from_be_bytes([msg[0], msg[1]]) != id || msg[2] & 0x80 == 0 {
        return Reply::Stray;
    }
    let packet = match Packet::parse(msg) {
        Ok(p) => p,
        Err(_) if msg[2] & 0x02 != 0 => return Reply::Truncated,
        // Our id, but no DNS message simple-dns can read (e.g. a malformed record of a known
        // type): say so instead of waiting out the timeout.
        Err(e) => {
            return Reply::Answer(Err(QueryError::Malformed(format!(
                "unparseable reply: {e}"
            ))))
        }
    };
    // Name equality in simple-dns ignores ASCII case, as DNS 0x20 answers need.
    let ours = matches!(packet.questions.as_slice(), [q] if q.qname == question.qname
        && q.qtype == question.qtype && q.qclass == question.qclass);
    if !ours {
        return Reply::Stray;
    }
    if packet.has_flags(PacketFlag::TRUNCATION) {
        return Reply::Truncated;
    }
    Reply::Answer(match packet.rcode() {
        RCODE::NoError => Ok(packet.answers.into_iter().map(|r| r.into_owned()).collect()),
        RCODE::NameError => Ok(Vec::new()),
        rcode => Err(QueryError::Rcode(rcode)),
    })
}

/// A TXT record's character-strings joined, as lossy UTF-8 (simple-dns's own `String::try_from`
/// joins them too but fails on invalid UTF-8).
pub(super) fn txt_string(txt: TXT<'_>) -> String {
    String::try_from(txt).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use simple_dns::rdata::{RData, NULL};
    use std::time::Instant;
    use tokio::net::TcpListener;

    /// Given the query's bytes, the messages the test server sends back (none: silence).
    type Responder = fn(&[u8]) -> Vec<Vec<u8>>;

    /// A reply to `query`: its id plus `id_offset`, its question (with `qname` instead when
    /// given), `rcode`, TC when `truncated`, and `answers`.
    fn reply(
        query: &[u8],
        id_offset: u16,
        qname: Option<&str>,
        rcode: RCODE,
        truncated: bool,
        answers: Vec<ResourceRecord<'_>>,
    ) -> Vec<u8> {
        let mut packet = Packet::parse(query).unwrap().into_reply();
        packet.set_id(packet.id().wrapping_add(id_offset));
        if let Some(qname) = qname {
            packet.questions[0].qname = Name::new(qname).unwrap();
        }
        *packet.rcode_mut() = rcode;
        if truncated {
            packet.set_flags(PacketFlag::TRUNCATION);
        }
        packet.answers = answers;
        packet.build_bytes_vec().unwrap()
    }

    fn txt_record<'a>(name: &'a str, strings: &[&'a str]) -> ResourceRecord<'a> {
        let txt = strings
            .iter()
            .fold(TXT::new(), |t, s| t.with_string(s).unwrap());
        ResourceRecord::new(Name::new(name).unwrap(), CLASS::IN, 60, RData::TXT(txt))
    }

    fn txt_answer(query: &[u8], strings: &[&str]) -> Vec<u8> {
        let name = "_acme-challenge.example.com";
        reply(
            query,
            0,
            None,
            RCODE::NoError,
            false,
            vec![txt_record(name, strings)],
        )
    }

    /// A server on 127.0.0.1 answering one UDP query with `udp` and, when given, one TCP query
    /// (same port) with `tcp`.
    async fn serve(udp: Responder, tcp: Option<Responder>) -> SocketAddr {
        let (socket, listener) = loop {
            let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let addr = socket.local_addr().unwrap();
            if let Ok(listener) = TcpListener::bind(addr).await {
                break (socket, listener);
            }
        };
        let addr = socket.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = vec![0; 65_535];
            let (n, from) = socket.recv_from(&mut buf).await.unwrap();
            for msg in udp(&buf[..n]) {
                socket.send_to(&msg, from).await.unwrap();
            }
            // Stay bound, so silence is silence and not "port unreachable".
            std::future::pending::<()>().await;
        });
        if let Some(tcp) = tcp {
            tokio::spawn(async move {
                let (mut stream, _) = listener.accept().await.unwrap();
                let len = stream.read_u16().await.unwrap();
                let mut query = vec![0; usize::from(len)];
                stream.read_exact(&mut query).await.unwrap();
                for msg in tcp(&query) {
                    stream.write_u16(msg.len() as u16).await.unwrap();
                    stream.write_all(&msg).await.unwrap();
                }
            });
        }
        addr
    }

    async fn txt_lookup(addr: SocketAddr) -> Result<Vec<String>, QueryError> {
        let records = lookup(addr, "_acme-challenge.example.com", TYPE::TXT).await?;
        Ok(records
            .into_iter()
            .filter_map(|r| match r.rdata {
                RData::TXT(t) => Some(txt_string(t)),
                _ => None,
            })
            .collect())
    }

    #[tokio::test]
    async fn txt_character_strings_are_joined_and_unknown_types_parse() {
        let addr = serve(
            |q| {
                let name = "_acme-challenge.example.com";
                // A record of a type simple-dns does not know (65280) must not fail the packet.
                let unknown = RData::NULL(65280, NULL::new(b"\x01\x02\x03").unwrap());
                let unknown = ResourceRecord::new(Name::new(name).unwrap(), CLASS::IN, 60, unknown);
                let answers = vec![unknown, txt_record(name, &["abc", "def"])];
                vec![reply(q, 0, None, RCODE::NoError, false, answers)]
            },
            None,
        )
        .await;
        assert_eq!(txt_lookup(addr).await.unwrap(), vec!["abcdef".to_string()]);
    }

    #[tokio::test]
    async fn nxdomain_is_no_records() {
        let addr = serve(
            |q| vec![reply(q, 0, None, RCODE::NameError, false, vec![])],
            None,
        )
        .await;
        assert_eq!(txt_lookup(addr).await.unwrap(), Vec::<String>::new());
    }

    #[tokio::test]
    async fn servfail_is_an_error() {
        let addr = serve(
            |q| vec![reply(q, 0, None, RCODE::ServerFailure, false, vec![])],
            None,
        )
        .await;
        let err = txt_lookup(addr).await.unwrap_err();
        assert!(
            matches!(err, QueryError::Rcode(RCODE::ServerFailure)),
            "{err:?}"
        );
        assert_eq!(err.to_string(), "the server answered SERVFAIL");
    }

    #[tokio::test]
    async fn stray_replies_are_ignored() {
        let addr = serve(
            |q| {
                let other_name = "_acme-challenge.example.org";
                vec![
                    // Another query's id, then our id for another name: both skipped.
                    reply(
                        q,
                        1,
                        None,
                        RCODE::NoError,
                        false,
                        vec![txt_record("x.example.com", &["wrong id"])],
                    ),
                    reply(
                        q,
                        0,
                        Some(other_name),
                        RCODE::NoError,
                        false,
                        vec![txt_record(other_name, &["wrong name"])],
                    ),
                    // DNS 0x20: the server may echo the name in another case.
                    reply(
                        q,
                        0,
                        Some("_ACME-Challenge.EXAMPLE.com"),
                        RCODE::NoError,
                        false,
                        vec![txt_record("_ACME-Challenge.EXAMPLE.com", &["right"])],
                    ),
                ]
            },
            None,
        )
        .await;
        assert_eq!(txt_lookup(addr).await.unwrap(), vec!["right".to_string()]);
    }

    #[tokio::test]
    async fn truncated_udp_is_asked_again_over_tcp() {
        let addr = serve(
            |q| {
                let name = "_acme-challenge.example.com";
                vec![reply(
                    q,
                    0,
                    None,
                    RCODE::NoError,
                    true,
                    vec![txt_record(name, &["partial"])],
                )]
            },
            Some(|q| vec![txt_answer(q, &["over ", "tcp"])]),
        )
        .await;
        assert_eq!(
            txt_lookup(addr).await.unwrap(),
            vec!["over tcp".to_string()]
        );
    }

    #[tokio::test]
    async fn silence_is_a_timeout_error() {
        let addr = serve(|_| vec![], None).await;
        let started = Instant::now();
        let timeout = Duration::from_millis(200);
        let err = lookup_within(addr, "example.com", TYPE::TXT, timeout)
            .await
            .unwrap_err();
        assert!(started.elapsed() >= timeout && started.elapsed() < Duration::from_secs(2));
        assert_eq!(
            err.to_string(),
            format!("no answer from {addr} within 200ms")
        );
    }

    #[test]
    fn invalid_utf8_txt_is_lossy() {
        let txt = TXT::new().with_char_string(simple_dns::CharacterString::new(b"a\xffb").unwrap());
        assert_eq!(txt_string(txt), "a\u{fffd}b");
    }
}
