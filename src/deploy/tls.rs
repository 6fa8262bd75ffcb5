//! `verify_tls = "host:port"` on any target: besides what the service's API reports, connect
//! with rustls and read the certificate actually served (SNI = host). The served certificate
//! wins, so a rollout only counts as verified once clients get the new serial.
//!
//! Only the serial is read: the chain is deliberately not validated here (alicert is checking
//! *which* certificate is served, not trusting the connection; no data is sent over it).
//!
//! Where it may connect (issue 11 part 8: not an internal port scanner): the host must be a DNS
//! name the certificate covers (checked at config load against `domains`, and again before
//! every connection against the certificate the service reports), never an IP address or a
//! single-label internal name; the port 1-65535. `verify_tls_connect = "127.0.0.1:8443"`
//! optionally names the socket to connect to instead of resolving the host (SNI stays the
//! host): for a local TLS forwarder or a test server. It must be a loopback IP literal, so it
//! cannot reach any other machine either.
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use super::TargetId;
use crate::cert::CertInfo;
use crate::error::{Error, Result};

const KEY: &str = "verify_tls";
const CONNECT_KEY: &str = "verify_tls_connect";

/// Where `verify_tls` looks: the name to ask for (SNI) and, with `verify_tls_connect`, the
/// loopback socket to ask at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyTls {
    pub host: String,
    pub port: u16,
    pub connect: Option<std::net::SocketAddr>,
}

impl std::fmt::Display for VerifyTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.host, self.port)?;
        if let Some(c) = self.connect {
            write!(f, " (via {c})")?;
        }
        Ok(())
    }
}

impl VerifyTls {
    /// `host:port`: host a DNS name (no IP, at least two labels, no wildcard), port 1-65535.
    pub fn parse(s: &str) -> std::result::Result<VerifyTls, String> {
        let (host, port) = s
            .rsplit_once(':')
            .ok_or("expected host:port, e.g. www.example.com:443")?;
        let port: u16 = port
            .parse()
            .ok()
            .filter(|p| *p > 0)
            .ok_or("the port must be 1-65535")?;
        if host.is_empty() {
            return Err("the host is empty".into());
        }
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if bare.parse::<std::net::IpAddr>().is_ok() {
            return Err(format!(
                "the host `{bare}` is an IP address; it must be a DNS name the certificate covers"
            ));
        }
        let host = host.to_ascii_lowercase();
        if host.starts_with("*.") {
            return Err(format!(
                "the host `{host}` is a wildcard; name one host the certificate covers"
            ));
        }
        crate::domain::validate(&host)
            .map_err(|e| format!("the host must be a DNS name the certificate covers: {e}"))?;
        Ok(VerifyTls {
            host,
            port,
            connect: None,
        })
    }

    /// Whether one of `names` (certificate domains, maybe wildcards) covers the host.
    pub fn covered_by<S: AsRef<str>>(&self, names: &[S]) -> bool {
        names
            .iter()
            .any(|n| crate::domain::covers(n.as_ref(), &self.host))
    }
}

/// `verify_tls_connect`: a loopback IP literal with a port (nothing else can be reached).
fn parse_connect(s: &str) -> std::result::Result<std::net::SocketAddr, String> {
    let addr: std::net::SocketAddr = s
        .parse()
        .map_err(|_| "expected a loopback IP:port, e.g. 127.0.0.1:8443".to_string())?;
    if !addr.ip().is_loopback() {
        return Err(format!(
            "{} is not a loopback address; only 127.0.0.0/8 and ::1 are allowed (it exists \
             for a local forwarder or test server; leave it out to connect to the host itself)",
            addr.ip()
        ));
    }
    if addr.port() == 0 {
        return Err("the port must be 1-65535".into());
    }
    Ok(addr)
}

/// Take `verify_tls` (and `verify_tls_connect`) out of a target table (every kind accepts
/// them) and check their form.
pub fn split_verify_tls(
    table: &toml::Table,
) -> std::result::Result<(toml::Table, Option<VerifyTls>), String> {
    let mut rest = table.clone();
    let connect = match rest.remove(CONNECT_KEY) {
        None => None,
        Some(toml::Value::String(s)) => {
            Some(parse_connect(&s).map_err(|e| format!("`{CONNECT_KEY}` = \"{s}\": {e}"))?)
        }
        Some(_) => return Err(format!("`{CONNECT_KEY}` must be a string \"IP:port\"")),
    };
    let verify = match rest.remove(KEY) {
        None => None,
        Some(toml::Value::String(s)) => {
            Some(VerifyTls::parse(&s).map_err(|e| format!("`{KEY}` = \"{s}\": {e}"))?)
        }
        Some(_) => return Err(format!("`{KEY}` must be a string \"host:port\"")),
    };
    match (verify, connect) {
        (None, Some(_)) => Err(format!(
            "`{CONNECT_KEY}` needs `{KEY}` (the name to ask for)"
        )),
        (Some(v), connect) => Ok((rest, Some(VerifyTls { connect, ..v }))),
        (None, None) => Ok((rest, None)),
    }
}

/// Config load: a target's `verify_tls` host must be covered by the certificate's `domains`.
pub fn check_covered(
    target: &super::TargetConfig,
    domains: &[String],
) -> std::result::Result<(), String> {
    match split_verify_tls(&target.params)?.1 {
        Some(v) if !v.covered_by(domains) => Err(format!(
            "`{KEY}` = \"{}:{}\": the host is not one of the certificate's domains ({}); \
             alicert only connects to names it certifies",
            v.host,
            v.port,
            domains.join(", ")
        )),
        _ => Ok(()),
    }
}

/// The leaf certificate served at `addr` (`host:port`, SNI = host).
pub async fn served_certificate(addr: &str) -> Result<CertInfo> {
    let target = VerifyTls::parse(addr).map_err(|e| Error::Deploy(format!("{KEY} {addr}: {e}")))?;
    served(&target).await
}

/// The leaf certificate served for `target.host` (at `target.connect` when set).
pub async fn served(target: &VerifyTls) -> Result<CertInfo> {
    let fail = |m: String| Error::Deploy(format!("{KEY} {target}: {m}"));
    let (host, port) = (target.host.clone(), target.port);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| fail(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(ReadOnly(provider)))
        .with_no_client_auth();
    let name = ServerName::try_from(host.clone()).map_err(|e| fail(e.to_string()))?;
    let connect = async {
        let tcp = match target.connect {
            Some(addr) => tokio::net::TcpStream::connect(addr).await,
            None => tokio::net::TcpStream::connect((host.as_str(), port)).await,
        }
        .map_err(|e| fail(format!("connect: {e}")))?;
        tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| fail(format!("TLS handshake: {e}")))
    };
    let tls = tokio::time::timeout(Duration::from_secs(10), connect)
        .await
        .map_err(|_| fail("timed out".into()))??;
    let (_, session) = tls.get_ref();
    let leaf = session
        .peer_certificates()
        .and_then(|c| c.first())
        .ok_or_else(|| fail("the server sent no certificate".into()))?;
    CertInfo::from_der(leaf.as_ref())
}

/// Accepts any certificate but still checks the handshake signatures.
#[derive(Debug)]
struct ReadOnly(Arc<CryptoProvider>);

impl ServerCertVerifier for ReadOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// With `verify_tls`: the certificate served over TLS instead of the one `id`'s API reports
/// (`reported`), once the API reports one.
pub(super) async fn served_instead(
    verify: &VerifyTls,
    id: &TargetId,
    reported: CertInfo,
) -> Result<CertInfo> {
    // Second line of defence behind the config check: only connect for a name the deployed
    // certificate itself covers.
    if !verify.covered_by(&reported.names) {
        return Err(Error::Config(format!(
            "{KEY} = \"{}:{}\" on {id}: the certificate the service reports (serial {}) \
             does not cover {}; alicert only connects to names it certifies",
            verify.host, verify.port, reported.serial, verify.host
        )));
    }
    let mut served = served(verify).await?;
    if served.serial == reported.serial {
        // The same certificate: the service's name for it still says whose it is (drift).
        served.deployed_as = reported.deployed_as;
    } else {
        tracing::info!(
            kind = id.kind.as_str(),
            id = %id.resource,
            reported = %reported.serial,
            served = %served.serial,
            addr = %verify,
            "the service reports one certificate and serves another"
        );
    }
    Ok(served)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> toml::Table {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn verify_tls_key_is_checked_and_removed() {
        let t = table("domain = \"a.example.com\"\nverify_tls = \"a.example.com:443\"");
        let (rest, v) = split_verify_tls(&t).unwrap();
        let v = v.unwrap();
        assert_eq!(
            (v.host.as_str(), v.port, v.connect),
            ("a.example.com", 443, None)
        );
        assert!(!rest.contains_key("verify_tls") && rest.contains_key("domain"));
        for (bad, needle) in [
            ("verify_tls = \"a.example.com\"", "host:port"),
            ("verify_tls = \"a.example.com:0\"", "1-65535"),
            ("verify_tls = \"a.example.com:65536\"", "1-65535"),
            ("verify_tls = \"10.0.0.1:443\"", "IP address"),
            ("verify_tls = \"[::1]:8443\"", "IP address"),
            ("verify_tls = \"169.254.169.254:80\"", "IP address"),
            ("verify_tls = \"localhost:22\"", "DNS name"),
            ("verify_tls = \"metadata:80\"", "DNS name"),
            ("verify_tls = \"*.example.com:443\"", "wildcard"),
            ("verify_tls = 443", "string"),
            (
                "verify_tls = \"a.example.com:443\"\nverify_tls_connect = \"10.0.0.5:443\"",
                "loopback",
            ),
            (
                "verify_tls = \"a.example.com:443\"\nverify_tls_connect = \"db.internal:443\"",
                "loopback IP:port",
            ),
            (
                "verify_tls_connect = \"127.0.0.1:443\"",
                "needs `verify_tls`",
            ),
        ] {
            let e = split_verify_tls(&table(bad)).unwrap_err();
            assert!(e.contains(needle), "{bad}: {e}");
        }
        let (_, v) = split_verify_tls(&table(
            "verify_tls = \"a.example.com:443\"\nverify_tls_connect = \"127.0.0.1:8443\"",
        ))
        .unwrap();
        assert_eq!(v.unwrap().connect, Some("127.0.0.1:8443".parse().unwrap()));
    }

    #[test]
    fn verify_tls_host_must_be_covered_by_the_certificate() {
        let target = |v: &str| crate::deploy::TargetConfig {
            kind: "cdn".into(),
            role_arn: None,
            params: table(&format!(
                "domain = \"www.example.com\"\nverify_tls = \"{v}\""
            )),
        };
        let domains = vec![
            "www.example.com".to_string(),
            "*.api.example.com".to_string(),
        ];
        for ok in [
            "www.example.com:443",
            "WWW.example.com:8443",
            "eu.api.example.com:443",
        ] {
            check_covered(&target(ok), &domains).unwrap();
        }
        for bad in [
            "example.com:443",
            "db.internal.example.com:5432",
            "a.b.api.example.com:443",
            "evil.example.net:443",
        ] {
            let e = check_covered(&target(bad), &domains).unwrap_err();
            assert!(
                e.contains("not one of the certificate's domains"),
                "{bad}: {e}"
            );
        }
    }
}
