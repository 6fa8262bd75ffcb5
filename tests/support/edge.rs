//! A TLS edge for `verify_tls` tests: serves the certificate the emulator says a service holds.
use std::sync::{Arc, Mutex};

use serde_json::Value;

/// A TLS endpoint standing in for a service's edge: it serves what `pick` finds in the
/// emulator's state now (polled), unless a fixed certificate is forced.
pub struct Edge {
    pub addr: std::net::SocketAddr,
    pub forced: Arc<Mutex<Option<Arc<rustls::sign::CertifiedKey>>>>,
}

#[derive(Debug)]
struct EdgeResolver {
    deployed: Arc<Mutex<Option<Arc<rustls::sign::CertifiedKey>>>>,
    forced: Arc<Mutex<Option<Arc<rustls::sign::CertifiedKey>>>>,
}

impl rustls::server::ResolvesServerCert for EdgeResolver {
    fn resolve(
        &self,
        _hello: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        self.forced
            .lock()
            .unwrap()
            .clone()
            .or_else(|| self.deployed.lock().unwrap().clone())
    }
}

pub fn certified_key(cert_pem: &str, key_pem: &str) -> Arc<rustls::sign::CertifiedKey> {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let chain: Vec<CertificateDer<'static>> = pem::parse_many(cert_pem)
        .unwrap()
        .into_iter()
        .filter(|p| p.tag() == "CERTIFICATE")
        .map(|p| CertificateDer::from(p.into_contents()))
        .collect();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        pem::parse(key_pem).unwrap().into_contents(),
    ));
    let signer = rustls::crypto::ring::sign::any_supported_type(&key).unwrap();
    Arc::new(rustls::sign::CertifiedKey::new(chain, signer))
}

pub async fn edge(emulator_base: String, pick: fn(&Value) -> Option<(String, String)>) -> Edge {
    let deployed: Arc<Mutex<Option<Arc<rustls::sign::CertifiedKey>>>> = Arc::default();
    let forced: Arc<Mutex<Option<Arc<rustls::sign::CertifiedKey>>>> = Arc::default();
    // Follow the emulator: what the service holds is what the edge serves.
    let slot = deployed.clone();
    tokio::spawn(async move {
        let http = reqwest::Client::new();
        let mut last = String::new();
        loop {
            if let Ok(rsp) = http
                .get(format!("{emulator_base}/__emulator/state"))
                .send()
                .await
            {
                if let Ok(state) = rsp.json::<Value>().await {
                    if let Some((cert, key)) = pick(&state) {
                        if cert != last {
                            *slot.lock().unwrap() = Some(certified_key(&cert, &key));
                            last = cert;
                        }
                    }
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    });
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_cert_resolver(Arc::new(EdgeResolver {
        deployed,
        forced: forced.clone(),
    }));
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _ = acceptor.accept(tcp).await;
            });
        }
    });
    Edge { addr, forced }
}
