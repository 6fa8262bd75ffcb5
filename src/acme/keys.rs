//! Certificate keys: a new one of the configured `key_type`, or the previous one again
//! (`reuse_key`) when it still fits.
use rustls_pki_types::PrivatePkcs8KeyDer;

use super::KeyType;
use crate::error::{Error, Result};
use crate::secret::Secret;

/// A new certificate key of `key_type`.
pub fn generate_certificate_key(key_type: KeyType) -> Result<rcgen::KeyPair> {
    let fail = |e: String| Error::Other(format!("certificate key generation: {e}"));
    match key_type {
        KeyType::EcP256 => rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
        KeyType::EcP384 => rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384),
        KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096 => {
            // ring cannot generate RSA keys; the `rsa` crate does, rcgen then signs with it.
            use rsa::pkcs8::EncodePrivateKey;
            let bits = match key_type {
                KeyType::Rsa2048 => 2048,
                KeyType::Rsa3072 => 3072,
                _ => 4096,
            };
            let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), bits)
                .map_err(|e| fail(e.to_string()))?;
            let der = key.to_pkcs8_der().map_err(|e| fail(e.to_string()))?;
            rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
                &PrivatePkcs8KeyDer::from(der.as_bytes().to_vec()),
                &rcgen::PKCS_RSA_SHA256,
            )
        }
    }
    .map_err(|e| fail(e.to_string()))
}

/// The previous certificate key, for `reuse_key = true`: usable only when it is PKCS#8, of
/// the configured `key_type`, and the key of the certificate it was deployed with.
pub fn reuse_certificate_key(
    pem_text: &Secret,
    key_type: KeyType,
    deployed_public_key: &[u8],
) -> std::result::Result<rcgen::KeyPair, String> {
    use rcgen::PublicKeyData as _;
    let block = pem::parse(pem_text.expose().trim())
        .map_err(|_| "the stored private key is not PEM".to_string())?;
    if block.tag() != "PRIVATE KEY" {
        return Err(format!(
            "the stored private key is a `{}` block, not PKCS#8",
            block.tag()
        ));
    }
    let der = PrivatePkcs8KeyDer::from(block.contents().to_vec());
    let (alg, bits) = match key_type {
        KeyType::EcP256 => (&rcgen::PKCS_ECDSA_P256_SHA256, 0),
        KeyType::EcP384 => (&rcgen::PKCS_ECDSA_P384_SHA384, 0),
        KeyType::Rsa2048 => (&rcgen::PKCS_RSA_SHA256, 2048),
        KeyType::Rsa3072 => (&rcgen::PKCS_RSA_SHA256, 3072),
        KeyType::Rsa4096 => (&rcgen::PKCS_RSA_SHA256, 4096),
    };
    let key = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&der, alg).map_err(|_| {
        format!("the stored private key is not an {key_type} key (key_type changed?)")
    })?;
    if bits != 0 {
        use rsa::pkcs8::DecodePrivateKey as _;
        use rsa::traits::PublicKeyParts as _;
        let rsa = rsa::RsaPrivateKey::from_pkcs8_der(block.contents())
            .map_err(|_| "the stored RSA key does not parse".to_string())?;
        if rsa.size() * 8 != bits {
            return Err(format!(
                "the stored key is RSA-{}, key_type asks for RSA-{bits}",
                rsa.size() * 8
            ));
        }
    }
    if key.der_bytes() != deployed_public_key {
        return Err("the stored private key does not belong to the deployed certificate".into());
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_only_a_matching_key() {
        let key = generate_certificate_key(KeyType::EcP256).unwrap();
        let params = rcgen::CertificateParams::new(vec!["example.com".to_string()]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        let info = crate::cert::CertInfo::from_pem(&cert.pem()).unwrap();
        let pem = Secret::new(key.serialize_pem());
        let again = reuse_certificate_key(&pem, KeyType::EcP256, &info.public_key()).unwrap();
        assert_eq!(again.serialize_der(), key.serialize_der());
        let e = reuse_certificate_key(&pem, KeyType::EcP384, &info.public_key()).unwrap_err();
        assert!(e.contains("ec-p384"), "{e}");
        let other = generate_certificate_key(KeyType::EcP256).unwrap();
        let e = reuse_certificate_key(
            &Secret::new(other.serialize_pem()),
            KeyType::EcP256,
            &info.public_key(),
        )
        .unwrap_err();
        assert!(e.contains("does not belong"), "{e}");
    }

    #[test]
    fn every_key_type_makes_a_csr() {
        for kt in [KeyType::EcP256, KeyType::EcP384, KeyType::Rsa2048] {
            let key = generate_certificate_key(kt).unwrap();
            let params = rcgen::CertificateParams::new(vec!["example.com".to_string()]).unwrap();
            params.serialize_request(&key).unwrap();
            assert!(key.serialize_pem().contains("PRIVATE KEY"));
        }
    }
}
