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
use crate::https::{HttpError, Https, Limits as HttpLimits};

/// Larger CRLs are not read: the body is streamed and the download stops past this. Why 10 MiB:
/// a CRL entry is a serial (at most 20 bytes), a time and maybe a reason, 30-40 bytes in DER, so
/// 10 MiB holds some 250 000 revocations in one file; Let's Encrypt shards each issuer's CRL into
/// many files (boulder docs/CRLS.md, "several sharded CRLs" per issuer, the shard named in each
/// certificate's distribution point), which keeps every file far below that (not measured here:
/// an estimate). It also bounds what one fetch costs an FC instance in memory (the smallest FC
/// functions have 128 MB) and in time (10 MiB in the 20 s timeout needs ~4 Mbit/s).
const MAX_CRL_BYTES: usize = 10 * 1024 * 1024;
/// The whole fetch, redirects included.
const FETCH_TIMEOUT: Duration = Duration::from_secs(20);
/// A CDN may move a CRL once or twice; more is a loop or a detour.
const MAX_REDIRECTS: usize = 3;
/// Distribution points tried per certificate (a certificate names one or two in practice).
const MAX_URLS: usize = 3;

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

/// How much one CRL fetch may cost.
#[derive(Debug, Clone, Copy)]
struct Limits {
    max_bytes: usize,
    timeout: Duration,
}

/// CRL checks for one run; each CRL is downloaded at most once.
pub struct Checker {
    http: Https,
    limits: Limits,
    cache: Mutex<HashMap<String, Fetched>>,
}

impl Default for Checker {
    fn default() -> Self {
        Checker::with_limits(Limits {
            max_bytes: MAX_CRL_BYTES,
            timeout: FETCH_TIMEOUT,
        })
    }
}

/// Only http and https URLs: a CRL distribution point names the file itself, nothing else is
/// fetched (no ldap:, file:, ftp:, ...), before or after a redirect.
fn fetchable(url: &url::Url) -> std::result::Result<(), String> {
    match url.scheme() {
        "http" | "https" if url.host_str().is_some_and(|h| !h.is_empty()) => Ok(()),
        "http" | "https" => Err(format!("{url}: no host")),
        other => Err(format!(
            "{url}: only http and https CRLs are fetched, not {other}:"
        )),
    }
}

impl Checker {
    fn with_limits(limits: Limits) -> Checker {
        Checker {
            http: Https::new(),
            limits,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub async fn check(&self, cert: &CertInfo) -> Status {
        let urls = cert.crl_urls();
        if urls.is_empty() {
            return Status::Unknown("the certificate names no CRL distribution point".into());
        }
        let mut why = Vec::new();
        for url in urls.into_iter().take(MAX_URLS) {
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

    /// GET `url`, following at most [`MAX_REDIRECTS`] redirects (each to http(s) only), the
    /// body streamed and capped, all within the fetch timeout.
    async fn download(&self, url: &str) -> std::result::Result<Vec<u8>, String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
        fetchable(&parsed)?;
        tokio::time::timeout(self.limits.timeout, self.follow(parsed))
            .await
            .map_err(|_| HttpError::Timeout.to_string())?
    }

    async fn follow(&self, mut url: url::Url) -> std::result::Result<Vec<u8>, String> {
        let max = self.limits.max_bytes;
        let limits = HttpLimits {
            timeout: self.limits.timeout,
            max_body: max,
        };
        let mut redirects = 0;
        loop {
            let rsp = self
                .http
                .send(
                    http::Method::GET,
                    url.as_str(),
                    &[],
                    Default::default(),
                    limits,
                )
                .await
                .map_err(|e| match e {
                    HttpError::TooLarge(_) => {
                        format!("CRL larger than {} MiB; not read", max / (1024 * 1024))
                    }
                    e => e.to_string(),
                })?;
            let location = rsp
                .header("location")
                .filter(|_| rsp.status.is_redirection());
            let Some(location) = location else {
                if !rsp.status.is_success() {
                    return Err(format!("HTTP {}", rsp.status));
                }
                return Ok(rsp.body.to_vec());
            };
            redirects += 1;
            if redirects > MAX_REDIRECTS {
                return Err(format!("more than {MAX_REDIRECTS} redirects"));
            }
            url = url
                .join(location)
                .map_err(|e| format!("redirected to a bad URL: {e}"))?;
            fetchable(&url).map_err(|e| format!("redirected to {e}"))?;
        }
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

    /// A local HTTP/1.1 server: `/big` streams zeros without a length (counting what it
    /// managed to write), `/huge-length` announces 50 MiB, `/loop` redirects to itself,
    /// `/to-file` redirects to a file: URL, `/moved` redirects once to `/small`, `/small` is
    /// 10 bytes, `/stall` never answers.
    async fn server() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        use crate::https::testing::{answer, ok, redirect, serve, stream_zeros};
        let written = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = written.clone();
        let base = serve(move |path, _, tcp| {
            let counter = counter.clone();
            async move {
                match path.as_str() {
                    "/big" => stream_zeros(tcp, &counter).await,
                    "/huge-length" => {
                        let head = "HTTP/1.1 200 OK\r\nContent-Length: 52428800\r\n\r\n";
                        answer(tcp, head).await;
                        tokio::time::sleep(Duration::from_secs(30)).await;
                    }
                    "/loop" => answer(tcp, &redirect("/loop")).await,
                    "/to-file" => answer(tcp, &redirect("file:///etc/passwd")).await,
                    "/moved" => answer(tcp, &redirect("/small")).await,
                    "/small" => answer(tcp, &ok("0123456789")).await,
                    _ => tokio::time::sleep(Duration::from_secs(30)).await,
                }
            }
        })
        .await;
        (base, written)
    }

    #[tokio::test]
    async fn fetches_are_bounded_in_size_redirects_scheme_and_time() {
        let (base, written) = server().await;
        let checker = Checker::with_limits(Limits {
            max_bytes: 1024 * 1024,
            timeout: Duration::from_secs(2),
        });
        // Streamed and cut off: the server could not write its 64 MiB.
        let e = checker.download(&format!("{base}/big")).await.unwrap_err();
        assert!(e.contains("larger than 1 MiB"), "{e}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        let sent = written.load(std::sync::atomic::Ordering::SeqCst);
        assert!(sent < 16 * 1024 * 1024, "read {sent} bytes");
        // An announced length over the limit stops before the body (well before the timeout).
        let started = std::time::Instant::now();
        let e = checker
            .download(&format!("{base}/huge-length"))
            .await
            .unwrap_err();
        assert!(e.contains("larger than"), "{e}");
        assert!(started.elapsed() < Duration::from_secs(1));
        // A redirect loop ends after a few hops; a redirect off http(s) is not followed.
        let e = checker.download(&format!("{base}/loop")).await.unwrap_err();
        assert!(e.contains("more than 3 redirects"), "{e}");
        let e = checker
            .download(&format!("{base}/to-file"))
            .await
            .unwrap_err();
        assert!(
            e.contains("only http and https") || e.contains("HTTP 302"),
            "{e}"
        );
        // One ordinary redirect is fine.
        let body = checker.download(&format!("{base}/moved")).await.unwrap();
        assert_eq!(body, b"0123456789");
        // A server that never answers costs the timeout, no more.
        let started = std::time::Instant::now();
        let e = checker
            .download(&format!("{base}/stall"))
            .await
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(4), "{e}");
        // Only http(s) URLs are fetched at all.
        for url in [
            "ldap://ldap.example.com/cn=crl",
            "file:///etc/passwd",
            "ftp://x/y.crl",
        ] {
            let e = checker.download(url).await.unwrap_err();
            assert!(e.contains("only http and https"), "{url}: {e}");
        }
        // The default is 10 MiB.
        assert_eq!(Checker::default().limits.max_bytes, 10 * 1024 * 1024);
    }
}
