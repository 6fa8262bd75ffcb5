//! Certificates (shared by CAS, CDN, DCDN, API Gateway, SLB, ALB, FC and OSS CNAMEs): PEM parsing,
//! key pair checks, domain coverage.
use super::*;

/// Facts parsed from a certificate PEM (first certificate of the chain).
#[derive(Debug, Clone, Serialize)]
pub struct CertInfo {
    /// Lower-case hex, no separators, no leading zeros.
    pub serial_no: String,
    pub common_name: String,
    /// DNS and IP subject alternative names.
    pub sans: Vec<String>,
    pub issuer_common_name: String,
    pub issuer_org: String,
    pub not_before_ms: i64,
    pub not_after_ms: i64,
    /// Lower-case hex SHA-1 of the DER.
    pub fingerprint: String,
    /// Lower-case hex SHA-256 of the DER.
    pub sha2: String,
    /// `RSA` or `ECC`.
    pub algorithm: String,
}

/// A certificate installed on a CDN/DCDN domain or an API Gateway domain.
#[derive(Debug, Clone, Serialize)]
pub struct DeployedCert {
    pub cert_name: String,
    /// CDN: the CAS CertId (string); API Gateway: the CertificateId.
    pub cert_id: String,
    /// `upload` or `cas` (API Gateway: `upload`).
    pub cert_type: String,
    pub cert_region: String,
    pub cert: String,
    /// Kept for inspection; the describe APIs never return it.
    pub key: String,
    pub info: CertInfo,
    pub updated_ms: i64,
    pub updated_by: String,
}
pub(crate) fn direct_cert(domain: &str, cert_pem: &str, key_pem: &str) -> DeployedCert {
    let info = parse_cert(cert_pem).unwrap_or_else(|e| panic!("certificate for {domain}: {e}"));
    DeployedCert {
        cert_name: format!("preexisting-{domain}"),
        cert_id: String::new(),
        cert_type: "upload".into(),
        cert_region: REGION.into(),
        cert: cert_pem.into(),
        key: key_pem.into(),
        info,
        updated_ms: now_ms(),
        updated_by: String::new(),
    }
}
// ---------------------------------------------------------------------------------------------
// Certificates (shared by CAS, CDN, DCDN, API Gateway)
// ---------------------------------------------------------------------------------------------

/// Parses the first CERTIFICATE block of a PEM text.
pub fn parse_cert(pem_text: &str) -> Result<CertInfo, String> {
    parse_cert_and_key(pem_text).map(|(info, _)| info)
}

pub(crate) fn parse_cert_and_key(pem_text: &str) -> Result<(CertInfo, Vec<u8>), String> {
    use x509_parser::pem::Pem;
    use x509_parser::prelude::*;
    let pem = Pem::iter_from_buffer(pem_text.as_bytes())
        .filter_map(|r| r.ok())
        .find(|p| p.label == "CERTIFICATE")
        .ok_or_else(|| "no CERTIFICATE block in PEM".to_string())?;
    let (_, cert) =
        X509Certificate::from_der(&pem.contents).map_err(|e| format!("bad certificate: {e}"))?;
    let mut serial = cert.raw_serial();
    while serial.len() > 1 && serial[0] == 0 {
        serial = &serial[1..];
    }
    let mut serial_no = hex::encode(serial);
    while serial_no.len() > 1 && serial_no.starts_with('0') {
        serial_no.remove(0);
    }
    let common_name = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|a| a.as_str().ok())
        .unwrap_or("")
        .to_string();
    let mut sans = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for n in &ext.value.general_names {
            match n {
                GeneralName::DNSName(d) => sans.push(d.to_string()),
                GeneralName::IPAddress(b) if b.len() == 4 => {
                    sans.push(std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string())
                }
                GeneralName::IPAddress(b) if b.len() == 16 => {
                    let a: [u8; 16] = (*b).try_into().expect("16 bytes");
                    sans.push(std::net::Ipv6Addr::from(a).to_string())
                }
                _ => {}
            }
        }
    }
    let issuer_common_name = cert
        .issuer()
        .iter_common_name()
        .next()
        .and_then(|a| a.as_str().ok())
        .unwrap_or("")
        .to_string();
    let issuer_org = cert
        .issuer()
        .iter_organization()
        .next()
        .and_then(|a| a.as_str().ok())
        .unwrap_or("")
        .to_string();
    let algorithm = match cert.public_key().parsed() {
        Ok(x509_parser::public_key::PublicKey::RSA(_)) => "RSA",
        Ok(x509_parser::public_key::PublicKey::EC(_)) => "ECC",
        _ => "UNKNOWN",
    }
    .to_string();
    let spk = cert.public_key().subject_public_key.data.to_vec();
    let info = CertInfo {
        serial_no,
        common_name,
        sans,
        issuer_common_name,
        issuer_org,
        not_before_ms: cert.validity().not_before.timestamp() * 1000,
        not_after_ms: cert.validity().not_after.timestamp() * 1000,
        fingerprint: {
            use sha1::Digest as _;
            hex::encode(sha1::Sha1::digest(&pem.contents))
        },
        sha2: hex::encode(Sha256::digest(&pem.contents)),
        algorithm,
    };
    Ok((info, spk))
}

/// Parses a certificate + key pair the way the products check uploads: the certificate must parse,
/// the key must be a PEM private key and (when rcgen can read it, i.e. PKCS#8) match the certificate.
pub(crate) fn check_pair(cert: &str, key: &str) -> Result<CertInfo, ApiError> {
    let (info, spk) = parse_cert_and_key(cert).map_err(|e| {
        err(
            400,
            "Certificate.FormatError",
            format!("The certificate format is invalid: {e}"),
        )
    })?;
    if !key.contains("PRIVATE KEY-----") {
        return Err(err(
            400,
            "Certificate.KeyFormatError",
            "The private key is not a PEM private key.",
        ));
    }
    if let Ok(kp) = rcgen::KeyPair::from_pem(key) {
        use rcgen::PublicKeyData as _;
        if kp.der_bytes() != spk.as_slice() {
            return Err(err(
                400,
                "Certificate.NotMatch",
                "The certificate and the private key do not match.",
            ));
        }
    }
    Ok(info)
}

/// Whether a certificate with these SANs (or CN when none) is valid for `domain`.
pub fn cert_covers(info: &CertInfo, domain: &str) -> bool {
    let domain = normalize_name(domain);
    let names: Vec<&String> = if info.sans.is_empty() {
        vec![&info.common_name]
    } else {
        info.sans.iter().collect()
    };
    names.iter().any(|n| {
        let n = n.to_ascii_lowercase();
        if let Some(base) = n.strip_prefix("*.") {
            domain
                .split_once('.')
                .is_some_and(|(first, rest)| !first.is_empty() && rest == base)
        } else {
            n == domain
        }
    })
}

pub(crate) fn require_cover(info: &CertInfo, domain: &str) -> Result<(), ApiError> {
    if cert_covers(info, domain) {
        Ok(())
    } else {
        Err(err(
            400,
            "Certificate.DomainNotMatch",
            format!(
                "The certificate (names {:?}) does not match the domain {domain}.",
                info.sans
            ),
        ))
    }
}

pub(crate) fn ymd(ms: i64) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    OffsetDateTime::from_unix_timestamp(ms / 1000)
        .map(|t| t.format(&fmt).unwrap_or_default())
        .unwrap_or_default()
}

pub(crate) fn rfc3339(ms: i64) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    OffsetDateTime::from_unix_timestamp(ms / 1000)
        .map(|t| t.format(&fmt).unwrap_or_default())
        .unwrap_or_default()
}
