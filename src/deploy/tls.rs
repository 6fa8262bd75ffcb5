//! `verify_tls = "host:port"` on any target: besides what the service's API reports, connect
//! with rustls and read the certificate actually served (SNI = host). The served certificate
//! wins, so a rollout only counts as verified once clients get the new serial.
//!
//! Only the serial is read: the chain is deliberately not validated here (alicert is checking
//! *which* certificate is served, not trusting the connection; no data is sent over it).
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use super::hub::CasCopy;
use super::{NewCert, Target};
use crate::cert::CertInfo;
use crate::error::{Error, Result};

const KEY: &str = "verify_tls";

/// Take `verify_tls` out of a target table (every kind accepts it) and check its form.
pub fn split_verify_tls(
    table: &toml::Table,
) -> std::result::Result<(toml::Table, Option<String>), String> {
    let mut rest = table.clone();
    let addr = match rest.remove(KEY) {
        None => None,
        Some(toml::Value::String(s)) => {
            parse_addr(&s).map_err(|e| format!("`{KEY}` = \"{s}\": {e}"))?;
            Some(s)
        }
        Some(_) => return Err(format!("`{KEY}` must be a string \"host:port\"")),
    };
    Ok((rest, addr))
}

/// `host:port` / `[v6]:port` → (host, port).
fn parse_addr(s: &str) -> std::result::Result<(String, u16), String> {
    let (host, port) = s
        .rsplit_once(':')
        .ok_or("expected host:port, e.g. www.example.com:443")?;
    let port: u16 = port
        .parse()
        .ok()
        .filter(|p| *p > 0)
        .ok_or("the port must be 1-65535")?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err("the host is empty".into());
    }
    Ok((host.to_string(), port))
}

/// The leaf certificate served at `addr` (SNI = its host).
pub async fn served_certificate(addr: &str) -> Result<CertInfo> {
    let fail = |m: String| Error::Deploy(format!("{KEY} {addr}: {m}"));
    let (host, port) = parse_addr(addr).map_err(|e| fail(e.to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| fail(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(ReadOnly(provider)))
        .with_no_client_auth();
    let name = ServerName::try_from(host.clone()).map_err(|e| fail(e.to_string()))?;
    let connect = async {
        let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
            .await
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

/// A target whose reading is what `verify_tls` serves once the API reports a certificate.
pub struct TlsChecked {
    inner: Box<dyn Target>,
    addr: String,
}

impl TlsChecked {
    pub fn new(inner: Box<dyn Target>, addr: String) -> TlsChecked {
        TlsChecked { inner, addr }
    }
}

#[async_trait]
impl Target for TlsChecked {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }

    fn id(&self) -> String {
        self.inner.id()
    }

    async fn current(&self) -> Result<Option<CertInfo>> {
        let Some(reported) = self.inner.current().await? else {
            return Ok(None);
        };
        let served = served_certificate(&self.addr).await?;
        if served.serial != reported.serial {
            tracing::info!(
                kind = self.kind(),
                id = %self.id(),
                reported = %reported.serial,
                served = %served.serial,
                addr = %self.addr,
                "the service reports one certificate and serves another"
            );
        }
        Ok(Some(served))
    }

    async fn deploy(&self, cert: &NewCert<'_>) -> Result<()> {
        self.inner.deploy(cert).await
    }

    fn uses_cas(&self) -> bool {
        self.inner.uses_cas()
    }

    async fn cas_references(&self) -> Result<Vec<String>> {
        self.inner.cas_references().await
    }

    async fn retire(&self, current: &CasCopy) -> Result<()> {
        self.inner.retire(current).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_tls_key_is_checked_and_removed() {
        let t: toml::Table =
            toml::from_str("domain = \"a.example.com\"\nverify_tls = \"a.example.com:443\"")
                .unwrap();
        let (rest, addr) = split_verify_tls(&t).unwrap();
        assert_eq!(addr.as_deref(), Some("a.example.com:443"));
        assert!(!rest.contains_key("verify_tls") && rest.contains_key("domain"));
        let bad: toml::Table = toml::from_str("verify_tls = \"a.example.com\"").unwrap();
        assert!(split_verify_tls(&bad).unwrap_err().contains("host:port"));
        assert_eq!(parse_addr("[::1]:8443").unwrap(), ("::1".to_string(), 8443));
    }
}
