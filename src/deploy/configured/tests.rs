use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::*;
use crate::deploy::{Capabilities, Caps, CasCopy, TargetKind};
use crate::secret::Secret;

/// A target with both capabilities; records which calls reached it.
struct Fake {
    calls: Arc<Mutex<Vec<&'static str>>>,
    reports: Option<CertInfo>,
    key: Option<String>,
}

#[async_trait]
impl Target for Fake {
    fn id(&self) -> TargetId {
        TargetId::new(TargetKind::Cas, "fake")
    }
    async fn current(&self) -> Result<Option<CertInfo>> {
        self.calls.lock().unwrap().push("current");
        Ok(self.reports.clone())
    }
    async fn deploy(&self, _cert: &NewCert<'_>) -> Result<()> {
        self.calls.lock().unwrap().push("deploy");
        Ok(())
    }
}

impl Capabilities for Fake {
    fn capabilities(&self) -> Caps<'_> {
        Caps {
            keys: Some(self),
            ..Caps::cas(self)
        }
    }
}

#[async_trait]
impl CasConsumer for Fake {
    async fn cas_references(&self) -> Result<Vec<String>> {
        Ok(vec!["42".into()])
    }
    async fn retire(&self, _current: &CasCopy) -> Result<()> {
        self.calls.lock().unwrap().push("retire");
        Ok(())
    }
}

#[async_trait]
impl KeySource for Fake {
    async fn current_key(&self) -> Result<Option<Secret>> {
        Ok(self.key.clone().map(Secret::new))
    }
}

fn self_signed(name: &str) -> (CertInfo, String) {
    let c = rcgen::generate_simple_self_signed(vec![name.to_string()]).unwrap();
    (
        CertInfo::from_pem(&c.cert.pem()).unwrap(),
        c.signing_key.serialize_pem(),
    )
}

fn verify(addr: Option<std::net::SocketAddr>) -> VerifyTls {
    let mut v = VerifyTls::parse("www.example.com:443").unwrap();
    v.connect = addr;
    v
}

#[tokio::test]
async fn capabilities_are_reached_with_verify_tls_set() {
    let (info, key) = self_signed("www.example.com");
    let calls = Arc::default();
    let fake = Fake {
        calls: Arc::clone(&calls),
        reports: None,
        key: Some(key),
    };
    let t = Configured::new(Box::new(fake), Some(verify(None)));
    assert_eq!((t.kind(), t.id().as_str()), ("cas", "fake"));
    // Nothing reported: no connection, the target's answer.
    assert!(t.current().await.unwrap().is_none());
    let cas = t
        .cas()
        .expect("the CAS capability is lost behind verify_tls");
    assert_eq!(cas.cas_references().await.unwrap(), ["42"]);
    let copy = CasCopy {
        id: "1".into(),
        region: "cn-hangzhou".into(),
        name: "n".into(),
    };
    cas.retire(&copy).await.unwrap();
    assert_eq!(*calls.lock().unwrap(), ["current", "retire"]);

    // reuse_key behind verify_tls: the key of the certificate served is kept.
    let cert = crate::config::CertificateConfig {
        name: "www".into(),
        domains: vec!["www.example.com".into()],
        reuse_key: true,
        ..Default::default()
    };
    let mut notes = Vec::new();
    let kept = crate::inspect::previous_key(&cert, &[&t], &[Some(info.clone())], &mut notes).await;
    let kept = kept.expect("reuse_key is off behind verify_tls");
    assert_eq!(kept.public_key_raw(), info.public_key());
    assert!(notes[0].contains("kept the private key"), "{notes:?}");
}

#[tokio::test]
async fn never_connects_for_a_name_the_reported_certificate_does_not_cover() {
    // Listening, so a connection attempt would get further than "refused".
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (other, _) = self_signed("other.example.com");
    let fake = Fake {
        calls: Arc::default(),
        reports: Some(other),
        key: None,
    };
    let t = Configured::new(
        Box::new(fake),
        Some(verify(Some(listener.local_addr().unwrap()))),
    );
    let e = t.current().await.unwrap_err();
    assert!(
        e.is_user_error() && e.to_string().contains("does not cover"),
        "{e}"
    );
    let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
    assert!(accepted.is_err(), "it connected anyway");
}

#[tokio::test]
async fn deploy_and_verify_installs_then_reads_back() {
    let (info, key) = self_signed("www.example.com");
    let calls = Arc::default();
    let fake = Fake {
        calls: Arc::clone(&calls),
        reports: Some(info.clone()),
        key: None,
    };
    let t = Configured::new(Box::new(fake), None);
    let key = Secret::new(key);
    let new = NewCert {
        name: "www",
        fullchain: "",
        private_key: &key,
        info: &info,
        cas: None,
    };
    deploy_and_verify(&t, &new).await.unwrap();
    assert_eq!(*calls.lock().unwrap(), ["deploy", "current"]);
}
