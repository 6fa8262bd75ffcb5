//! Is a deployed certificate revoked? alicert keeps no state, so it asks the issuer: the CRL
//! named in the certificate's CRL Distribution Points (Let's Encrypt has published only CRLs
//! since it ended OCSP in 2025; other CAs publish both). The CRL is accepted only when it is
//! signed by the issuer certificate that follows the leaf in the deployed chain; anything
//! else (no distribution point, no issuer in the chain, network or parse errors) is "unknown"
//! and the run goes on deciding by ARI and expiry. OCSP is not queried.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::revocation_list::CertificateRevocationList;

use crate::cert::CertInfo;

/// Larger CRLs are not read (Let's Encrypt shards its CRLs to well under this).
const MAX_CRL_BYTES: usize = 32 * 1024 * 1024;
const FETCH_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Good,
    /// Listed on the issuer's CRL, with the CRLReason code when the entry has one.
    Revoked {
        reason: Option<u8>,
    },
    Unknown(String),
}

/// A downloaded CRL, or why there is none.
type Fetched = std::result::Result<Arc<Vec<u8>>, String>;

/// CRL checks for one run; each CRL is downloaded at most once.
pub struct Checker {
    http: reqwest::Client,
    cache: Mutex<HashMap<String, Fetched>>,
}

impl Default for Checker {
    fn default() -> Self {
        Checker {
            http: reqwest::Client::builder()
                .timeout(FETCH_TIMEOUT)
                .user_agent(concat!("alicert/", env!("CARGO_PKG_VERSION")))
                .build()
                .unwrap_or_default(),
            cache: Mutex::new(HashMap::new()),
        }
    }
}

impl Checker {
    pub async fn check(&self, cert: &CertInfo) -> Status {
        let urls = cert.crl_urls();
        if urls.is_empty() {
            return Status::Unknown("the certificate names no CRL distribution point".into());
        }
        let mut why = Vec::new();
        for url in urls {
            match self.fetch(&url).await {
                Ok(crl) => match status_in(cert, &crl) {
                    Ok(status) => return status,
                    Err(e) => why.push(format!("{url}: {e}")),
                },
                Err(e) => why.push(format!("{url}: {e}")),
            }
        }
        Status::Unknown(why.join("; "))
    }

    async fn fetch(&self, url: &str) -> Fetched {
        if let Some(hit) = self.cache.lock().ok().and_then(|c| c.get(url).cloned()) {
            return hit;
        }
        let result = self.download(url).await.map(Arc::new);
        if let Ok(mut c) = self.cache.lock() {
            c.insert(url.to_string(), result.clone());
        }
        result
    }

    async fn download(&self, url: &str) -> std::result::Result<Vec<u8>, String> {
        let mut rsp = self.http.get(url).send().await.map_err(|e| e.to_string())?;
        if !rsp.status().is_success() {
            return Err(format!("HTTP {}", rsp.status()));
        }
        if rsp.content_length().unwrap_or(0) as usize > MAX_CRL_BYTES {
            return Err("CRL larger than 32 MiB".into());
        }
        let mut body = Vec::new();
        while let Some(chunk) = rsp.chunk().await.map_err(|e| e.to_string())? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_CRL_BYTES {
                return Err("CRL larger than 32 MiB".into());
            }
        }
        Ok(body)
    }
}

/// Whether `cert` is on `crl` (DER, or PEM `X509 CRL`), after checking the CRL is its issuer's.
pub fn status_in(cert: &CertInfo, crl: &[u8]) -> std::result::Result<Status, String> {
    let pem_der;
    let der = if crl.starts_with(b"-----BEGIN") {
        pem_der = pem::parse(crl)
            .map_err(|e| format!("CRL PEM: {e}"))?
            .into_contents();
        pem_der.as_slice()
    } else {
        crl
    };
    let (_, crl) =
        CertificateRevocationList::from_der(der).map_err(|e| format!("CRL does not parse: {e}"))?;
    let (_, leaf) =
        X509Certificate::from_der(&cert.der).map_err(|e| format!("certificate: {e}"))?;
    let issuer_der = cert
        .chain
        .first()
        .ok_or("the deployed chain has no issuer certificate to verify the CRL with")?;
    let (_, issuer) =
        X509Certificate::from_der(issuer_der).map_err(|e| format!("issuer certificate: {e}"))?;
    if issuer.subject().as_raw() != leaf.issuer().as_raw() {
        return Err("the certificate after the leaf is not its issuer".into());
    }
    if crl.issuer().as_raw() != leaf.issuer().as_raw() {
        return Err("the CRL is not from the certificate's issuer".into());
    }
    crl.verify_signature(issuer.public_key())
        .map_err(|e| format!("the CRL signature does not verify with the issuer's key: {e}"))?;
    let serial = leaf.raw_serial();
    let entry = crl
        .iter_revoked_certificates()
        .find(|r| r.raw_serial() == serial);
    Ok(match entry {
        Some(r) => Status::Revoked {
            reason: r.reason_code().map(|(_, code)| code.0),
        },
        None => Status::Good,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{
        BasicConstraints, CertificateParams, CertificateRevocationListParams, CrlDistributionPoint,
        DnType, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, RevokedCertParams,
        SerialNumber,
    };

    /// A CA, a leaf with a CRL distribution point, and a CRL revoking `revoked` serials.
    struct TestPki {
        leaf_pem: String,
        chain_pem: String,
        crl_der: Vec<u8>,
    }

    fn pki(crl_url: &str, leaf_serial: u64, revoked: &[u64]) -> TestPki {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.distinguished_name
            .push(DnType::CommonName, "alicert test CRL CA");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca.clone().self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca, &ca_key);
        let leaf_key = KeyPair::generate().unwrap();
        let mut leaf = CertificateParams::new(vec!["www.example.com".to_string()]).unwrap();
        leaf.serial_number = Some(SerialNumber::from(leaf_serial.to_be_bytes().to_vec()));
        leaf.crl_distribution_points = vec![CrlDistributionPoint {
            uris: vec![crl_url.to_string()],
        }];
        let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
        let now = time::OffsetDateTime::now_utc();
        let crl = CertificateRevocationListParams {
            this_update: now - time::Duration::hours(1),
            next_update: now + time::Duration::days(1),
            crl_number: SerialNumber::from(1u64.to_be_bytes().to_vec()),
            issuing_distribution_point: None,
            revoked_certs: revoked
                .iter()
                .map(|s| RevokedCertParams {
                    serial_number: SerialNumber::from(s.to_be_bytes().to_vec()),
                    revocation_time: now - time::Duration::minutes(5),
                    reason_code: Some(rcgen::RevocationReason::KeyCompromise),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        }
        .signed_by(&issuer)
        .unwrap();
        TestPki {
            leaf_pem: format!("{}{}", leaf_cert.pem(), ca_cert.pem()),
            chain_pem: ca_cert.pem(),
            crl_der: crl.der().to_vec(),
        }
    }

    #[test]
    fn finds_revoked_serials_on_a_verified_crl() {
        let p = pki("http://127.0.0.1:1/crl", 0x1234, &[0x99, 0x1234]);
        let info = CertInfo::from_pem(&p.leaf_pem).unwrap();
        assert_eq!(info.crl_urls(), ["http://127.0.0.1:1/crl"]);
        assert_eq!(
            status_in(&info, &p.crl_der).unwrap(),
            Status::Revoked { reason: Some(1) }
        );
        let good = pki("http://127.0.0.1:1/crl", 0x1234, &[0x99]);
        let info = CertInfo::from_pem(&good.leaf_pem).unwrap();
        assert_eq!(status_in(&info, &good.crl_der).unwrap(), Status::Good);
        // Another CA's CRL listing the same serial proves nothing, even under the same name.
        let e = status_in(&info, &p.crl_der).unwrap_err();
        assert!(e.contains("signature does not verify"), "{e}");
        // Without the issuer in the chain the CRL cannot be verified.
        let leaf_only =
            CertInfo::from_pem(&good.leaf_pem[..good.leaf_pem.len() - good.chain_pem.len()])
                .unwrap();
        assert!(status_in(&leaf_only, &good.crl_der)
            .unwrap_err()
            .contains("no issuer"));
    }
}
