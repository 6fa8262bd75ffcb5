//! What a console user (or another tool) puts on an endpoint: a certificate alicert did not
//! issue, for the drift tests and any test that needs someone else's certificate.

use time::{Duration, OffsetDateTime};

/// A self-signed certificate for `names`, `lifetime_days` long with `days_left` days left;
/// returns (certificate PEM, key PEM). No AKI and no CRL point: the CA's ARI and any CRL have
/// nothing to say about it, so only its dates make it due.
pub fn console_cert(names: &[&str], lifetime_days: i64, days_left: i64) -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut p =
        rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .unwrap();
    let now = OffsetDateTime::now_utc();
    p.not_before = now - Duration::days(lifetime_days - days_left);
    p.not_after = now + Duration::days(days_left);
    let cert = p.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}
