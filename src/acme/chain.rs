//! Chain choice (`preferred_chain`): a CA may offer the same certificate with other chains,
//! announced as `Link: <url>;rel="alternate"` on the certificate download (RFC 8555 §7.4.2).
//!
//! instant-acme returns only the default chain's body, so alicert reads the Link headers from
//! its own HTTP client's capture ([`super::http::Tap`]). Each alternate must be fetched with a
//! POST-as-GET signed by the account; instant-acme has no public call for an arbitrary URL, so
//! alicert uses the one it has — `Account::order(url)`, which sends exactly that request — and
//! takes the body from the capture. instant-acme then fails to read the PEM as an order, an
//! error alicert expects and ignores. No JWS is built outside instant-acme.
use instant_acme::Account;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::http::Tap;

/// The chain to install, and a note when the preference could not be met.
pub struct Chosen {
    pub fullchain: String,
    pub note: Option<String>,
}

/// Pick among the default chain (downloaded from `cert_url`) and its alternates.
pub async fn choose(
    account: &Account,
    tap: &Tap,
    cert_url: &str,
    default_chain: String,
    preferred: &str,
) -> Chosen {
    let alternates = tap
        .get(cert_url)
        .map(|c| c.links("alternate"))
        .unwrap_or_default();
    let default_leaf = first_der(&default_chain);
    let mut chains = vec![default_chain];
    for url in &alternates {
        let _ = account.order(url.clone()).await; // see the module comment
        match tap.get(url) {
            Some(c) if c.status == 200 => {
                let text = String::from_utf8_lossy(&c.body).into_owned();
                if first_der(&text).is_some() && first_der(&text) == default_leaf {
                    chains.push(text);
                } else {
                    tracing::warn!(
                        url,
                        "alternate chain does not start with the issued certificate; ignored"
                    );
                }
            }
            other => tracing::warn!(
                url,
                status = other.map(|c| c.status),
                "could not download an alternate chain"
            ),
        }
    }
    let offered: Vec<String> = chains.iter().map(|c| top_issuer(c)).collect();
    match pick(&chains, preferred) {
        Some(i) => {
            tracing::info!(preferred, chain = i, of = chains.len(), "chain chosen");
            Chosen {
                fullchain: chains.swap_remove(i),
                note: None,
            }
        }
        None => {
            let note = format!(
                "preferred_chain `{preferred}` is not among the chains the CA offers (top issuers: {}); installed the default chain",
                offered.join(", ")
            );
            tracing::warn!("{note}");
            Chosen {
                fullchain: chains.swap_remove(0),
                note: Some(note),
            }
        }
    }
}

/// The chain whose topmost certificate was issued by `preferred` (certbot's rule); failing
/// that, the first chain with any certificate issued by `preferred`.
pub fn pick(chains: &[String], preferred: &str) -> Option<usize> {
    chains
        .iter()
        .position(|c| top_issuer(c) == preferred)
        .or_else(|| {
            chains
                .iter()
                .position(|c| issuers(c).iter().any(|i| i == preferred))
        })
}

fn certs(chain: &str) -> Vec<Vec<u8>> {
    pem::parse_many(chain)
        .map(|blocks| {
            blocks
                .into_iter()
                .filter(|b| b.tag() == "CERTIFICATE")
                .map(|b| b.into_contents())
                .collect()
        })
        .unwrap_or_default()
}

fn first_der(chain: &str) -> Option<Vec<u8>> {
    certs(chain).into_iter().next()
}

/// Issuer common names, leaf first.
fn issuers(chain: &str) -> Vec<String> {
    certs(chain)
        .iter()
        .map(|der| issuer_cn(der).unwrap_or_default())
        .collect()
}

fn top_issuer(chain: &str) -> String {
    issuers(chain).pop().unwrap_or_default()
}

pub fn issuer_cn(der: &[u8]) -> Option<String> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let cn = cert
        .issuer()
        .iter_common_name()
        .next()
        .and_then(|a| a.as_str().ok())
        .map(str::to_string);
    cn
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

    /// leaf ← intermediate `inter` ← root `root`, as PEM (leaf + intermediate).
    fn chain(leaf_key: &KeyPair, inter: &str, root: &str) -> String {
        let root_key = KeyPair::generate().unwrap();
        let mut rp = CertificateParams::new(Vec::<String>::new()).unwrap();
        rp.distinguished_name.push(DnType::CommonName, root);
        rp.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let root_issuer = Issuer::new(rp, &root_key);
        let inter_key = KeyPair::generate().unwrap();
        let mut ip = CertificateParams::new(Vec::<String>::new()).unwrap();
        ip.distinguished_name.push(DnType::CommonName, inter);
        ip.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let inter_cert = ip.clone().signed_by(&inter_key, &root_issuer).unwrap();
        let inter_issuer = Issuer::new(ip, &inter_key);
        let leaf = CertificateParams::new(vec!["example.com".to_string()])
            .unwrap()
            .signed_by(leaf_key, &inter_issuer)
            .unwrap();
        format!("{}{}", leaf.pem(), inter_cert.pem())
    }

    #[test]
    fn picks_by_top_issuer_then_any_issuer() {
        let key = KeyPair::generate().unwrap();
        let chains = vec![
            chain(&key, "Inter A", "Root A"),
            chain(&key, "Inter B", "Root B"),
        ];
        assert_eq!(pick(&chains, "Root B"), Some(1));
        assert_eq!(pick(&chains, "Root A"), Some(0));
        // The leaf's issuer (an intermediate) matches as a fallback.
        assert_eq!(pick(&chains, "Inter B"), Some(1));
        assert_eq!(pick(&chains, "Root C"), None);
        assert_eq!(top_issuer(&chains[1]), "Root B");
    }
}
