//! What a PEM certificate says: serial, validity, names. The deployed certificates are
//! alicert's only state, so this is how it reads that state.
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// Lowercase hex, no separators, no leading zeros (SPEC: Result JSON).
    pub serial: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// DNS names from the SAN extension (or the CN when there is none).
    pub names: Vec<String>,
    pub issuer: String,
    /// SHA-256 of the DER, lowercase hex.
    pub fingerprint_sha256: String,
    /// The certificate itself (revocation, ARI and CRL checks need it).
    pub der: Vec<u8>,
    /// The certificates that followed it in the PEM it was read from (intermediates), DER.
    pub chain: Vec<Vec<u8>>,
    /// The name the service keeps it under, when the service reports one beside the PEM (the
    /// CAS certificate name, CDN's `CertName`): not part of the certificate, it is how drift
    /// tells alicert's uploads from others' (src/drift.rs).
    pub deployed_as: Option<String>,
}

impl CertInfo {
    /// Parse the first certificate of a PEM chain.
    pub fn from_pem(pem_text: &str) -> Result<CertInfo> {
        let blocks = pem::parse_many(pem_text)
            .map_err(|e| Error::Other(format!("certificate PEM does not parse: {e}")))?;
        let mut certs = blocks.iter().filter(|b| b.tag() == "CERTIFICATE");
        let leaf = certs
            .next()
            .ok_or_else(|| Error::Other("no CERTIFICATE block in PEM".into()))?;
        let mut info = CertInfo::from_der(leaf.contents())?;
        info.chain = certs.map(|b| b.contents().to_vec()).collect();
        Ok(info)
    }

    pub fn from_der(der: &[u8]) -> Result<CertInfo> {
        let (_, cert) = X509Certificate::from_der(der)
            .map_err(|e| Error::Other(format!("certificate DER does not parse: {e}")))?;
        let mut names = Vec::new();
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for n in &san.value.general_names {
                if let GeneralName::DNSName(d) = n {
                    names.push(d.to_ascii_lowercase());
                }
            }
        }
        if names.is_empty() {
            for cn in cert.subject().iter_common_name() {
                if let Ok(s) = cn.as_str() {
                    names.push(s.to_ascii_lowercase());
                }
            }
        }
        let serial = serial_hex(cert.raw_serial());
        use sha2::Digest;
        Ok(CertInfo {
            serial,
            not_before: cert.validity().not_before.to_datetime(),
            not_after: cert.validity().not_after.to_datetime(),
            names,
            issuer: cert.issuer().to_string(),
            fingerprint_sha256: hex::encode(sha2::Sha256::digest(der)),
            der: der.to_vec(),
            chain: Vec::new(),
            deployed_as: None,
        })
    }

    /// The ARI CertID (RFC 9773 §4.1): AKI keyIdentifier and serial, both base64url.
    /// None when the certificate has no AKI keyIdentifier.
    pub fn ari_id(&self) -> Option<instant_acme::CertificateIdentifier<'static>> {
        use x509_parser::extensions::ParsedExtension;
        let (_, cert) = X509Certificate::from_der(&self.der).ok()?;
        let aki = cert
            .iter_extensions()
            .find_map(|ext| match ext.parsed_extension() {
                ParsedExtension::AuthorityKeyIdentifier(aki) => {
                    aki.key_identifier.as_ref().map(|k| k.0.to_vec())
                }
                _ => None,
            })?;
        Some(
            instant_acme::CertificateIdentifier::new(
                rustls_pki_types::Der::from_slice(&aki),
                rustls_pki_types::Der::from_slice(cert.raw_serial()),
            )
            .into_owned(),
        )
    }

    /// http(s) URLs of the CRL distribution points.
    pub fn crl_urls(&self) -> Vec<String> {
        use x509_parser::extensions::{DistributionPointName, ParsedExtension};
        let Ok((_, cert)) = X509Certificate::from_der(&self.der) else {
            return Vec::new();
        };
        let mut urls = Vec::new();
        for ext in cert.iter_extensions() {
            if let ParsedExtension::CRLDistributionPoints(points) = ext.parsed_extension() {
                for point in points.iter() {
                    if let Some(DistributionPointName::FullName(names)) = &point.distribution_point
                    {
                        for name in names {
                            if let GeneralName::URI(uri) = name {
                                if uri.starts_with("http://") || uri.starts_with("https://") {
                                    urls.push(uri.to_string());
                                }
                            }
                        }
                    }
                }
            }
        }
        urls
    }

    /// The subject public key (SubjectPublicKeyInfo bit string), to match a private key.
    pub fn public_key(&self) -> Vec<u8> {
        X509Certificate::from_der(&self.der)
            .map(|(_, c)| c.public_key().subject_public_key.data.to_vec())
            .unwrap_or_default()
    }

    /// Whether every domain in `domains` is covered by this certificate's names.
    pub fn covers_all(&self, domains: &[String]) -> bool {
        domains
            .iter()
            .all(|d| self.names.iter().any(|n| crate::domain::covers(n, d)))
    }

    pub fn not_after_rfc3339(&self) -> String {
        rfc3339(self.not_after)
    }
}

/// RFC 3339 UTC, whole seconds. Never panics: a time RFC 3339 cannot write (a year outside
/// 0000-9999 in UTC, e.g. from a crafted certificate's GeneralizedTime with an offset, or a
/// crafted lock object's expiry) is shown as its unix timestamp; [`try_rfc3339`] says so.
pub fn rfc3339(t: OffsetDateTime) -> String {
    try_rfc3339(t).unwrap_or_else(|_| format!("@{} (unix seconds)", t.unix_timestamp()))
}

/// RFC 3339 UTC, whole seconds, or an error for a time RFC 3339 cannot write.
pub fn try_rfc3339(t: OffsetDateTime) -> Result<String> {
    t.checked_to_offset(time::UtcOffset::UTC)
        .and_then(|u| u.replace_nanosecond(0).ok())
        .and_then(|u| u.format(&Rfc3339).ok())
        .ok_or_else(|| {
            Error::Other(format!(
                "time {} (unix seconds) has no RFC 3339 form (year outside 0000-9999)",
                t.unix_timestamp()
            ))
        })
}

/// Serial bytes → lowercase hex without leading zeros.
pub fn serial_hex(raw: &[u8]) -> String {
    let s = hex::encode(raw);
    let t = s.trim_start_matches('0');
    if t.is_empty() {
        "0".into()
    } else {
        t.into()
    }
}

/// Split a full-chain PEM into (leaf PEM, rest-of-chain PEM).
pub fn split_chain(fullchain: &str) -> Result<(String, String)> {
    let blocks = pem::parse_many(fullchain)
        .map_err(|e| Error::Other(format!("certificate chain PEM does not parse: {e}")))?;
    let mut certs = blocks.into_iter().filter(|b| b.tag() == "CERTIFICATE");
    let leaf = certs
        .next()
        .ok_or_else(|| Error::Other("empty certificate chain".into()))?;
    let rest: Vec<pem::Pem> = certs.collect();
    let enc = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
    Ok((
        pem::encode_config(&leaf, enc),
        pem::encode_many_config(&rest, enc),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn self_signed(names: &[&str]) -> String {
        let key = rcgen::KeyPair::generate().unwrap();
        let params =
            rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.self_signed(&key).unwrap().pem()
    }

    #[test]
    fn reads_names_and_serial() {
        let pem = self_signed(&["example.com", "*.example.com"]);
        let info = CertInfo::from_pem(&pem).unwrap();
        assert_eq!(info.names, vec!["example.com", "*.example.com"]);
        assert!(!info.serial.starts_with('0'));
        assert!(info
            .serial
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert!(info.covers_all(&["example.com".into(), "www.example.com".into()]));
        assert!(!info.covers_all(&["other.com".into()]));
        assert_eq!(info.fingerprint_sha256.len(), 64);
    }

    #[test]
    fn ari_cert_id_matches_rfc_9773_example() {
        // RFC 9773 §4.1: AKI keyIdentifier 69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4
        // and serial 00:87:65:43:21 give "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE".
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.key_identifier_method = rcgen::KeyIdMethod::PreSpecified(
            hex::decode("69885b6b87464041e1b37b847ba0ae2cde01c8d4").unwrap(),
        );
        let issuer = rcgen::Issuer::new(ca, &ca_key);
        let mut leaf = rcgen::CertificateParams::new(vec!["example.com".to_string()]).unwrap();
        leaf.serial_number = Some(rcgen::SerialNumber::from(vec![
            0x00, 0x87, 0x65, 0x43, 0x21,
        ]));
        leaf.use_authority_key_identifier_extension = true;
        let key = rcgen::KeyPair::generate().unwrap();
        let pem = leaf.signed_by(&key, &issuer).unwrap().pem();
        let info = CertInfo::from_pem(&pem).unwrap();
        assert_eq!(
            info.ari_id().unwrap().to_string(),
            "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"
        );
        assert_eq!(info.serial, "87654321");
        // No AKI, no CertID.
        let bare = CertInfo::from_pem(&self_signed(&["a.example.com"])).unwrap();
        assert!(bare.ari_id().is_none());
    }

    #[test]
    fn serial_formatting() {
        assert_eq!(serial_hex(&[0x00, 0x0a, 0xbc]), "abc");
        assert_eq!(serial_hex(&[0x00]), "0");
    }

    #[test]
    fn splits_chain() {
        let a = self_signed(&["a.example.com"]);
        let b = self_signed(&["b.example.com"]);
        let (leaf, rest) = split_chain(&format!("{a}{b}")).unwrap();
        assert_eq!(
            CertInfo::from_pem(&leaf).unwrap().names,
            vec!["a.example.com"]
        );
        assert_eq!(
            CertInfo::from_pem(&rest).unwrap().names,
            vec!["b.example.com"]
        );
    }

    #[test]
    fn times_rfc3339_cannot_write_are_errors_not_panics() {
        use time::macros::datetime;
        assert_eq!(
            rfc3339(datetime!(2026-02-20 00:00:00.5 UTC)),
            "2026-02-20T00:00:00Z"
        );
        for t in [
            datetime!(-0001-12-31 23:00 UTC),
            // In UTC this is past 9999-12-31: to_offset would panic.
            datetime!(9999-12-31 23:30 -01:00),
            datetime!(0000-01-01 00:30 +01:00),
        ] {
            assert!(try_rfc3339(t).is_err(), "{t}");
            assert!(rfc3339(t).contains("unix seconds"), "{t}");
        }
    }
}
