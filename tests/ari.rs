//! Renewal decisions that need the CA's or the issuer's word: ARI windows (RFC 9773),
//! profiles, and revocation seen on the issuer's CRL. Pebble 2.4 has no ARI, no profiles and
//! no CRLs, so a small HTTP front (tests/support/ari_front.rs) serves Pebble's directory with
//! `renewalInfo` and `meta.profiles` added, the renewalInfo answers and a CRL; accounts,
//! orders and certificates are still Pebble's.
mod support;
use support::scenario::{cas, cdn, Scenario};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use support::ari_front;
use time::{Duration, OffsetDateTime};

#[track_caller]
/// RFC 9773 CertID of the first certificate in `pem_text`, computed independently of alicert.
fn cert_id(pem_text: &str) -> String {
    use x509_parser::prelude::*;
    let p = ::pem::parse(pem_text).unwrap();
    let (_, c) = X509Certificate::from_der(p.contents()).unwrap();
    let aki = c
        .iter_extensions()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(a) => a.key_identifier.as_ref().map(|k| k.0),
            _ => None,
        })
        .expect("AKI");
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(aki),
        URL_SAFE_NO_PAD.encode(c.raw_serial())
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ari_window_decides_renewal_and_profiles_are_checked() {
    let pebble = support::pebble::start().await;
    let front = ari_front::start(&pebble).await;
    let rig = Scenario::new()
        .seed(|s| s.zone("example.com").cdn_domain("www.example.com"))
        .certificate("www", &["www.example.com"])
        .option(r#"profile = "shortlived""#)
        .target(cas())
        .target(cdn("www.example.com"))
        .pebble(pebble)
        .start()
        .await;
    rig.set_acme("directory", &format!("\"{}\"", front.directory_url()));
    // Missing on target: no ARI question needed. The listed profile is accepted.
    let first = rig.invoke("{}").await;
    assert_eq!(first.ok().certificate("www").status, "issued");
    assert!(front.state().requests.is_empty());

    // The window starts in 60 days: up to date, one question for two targets serving it.
    let second = rig.invoke(r#"{"action":"status"}"#).await;
    assert_eq!(second.ok().certificate("www").status, "up_to_date");
    let deployed = rig
        .emulator
        .state()
        .cdn_cert("www.example.com")
        .unwrap()
        .cert
        .clone();
    assert_eq!(front.state().requests, [cert_id(&deployed)]);
    assert!(
        second.stderr.contains("ARI renewal window")
            && (second.stderr.contains("retry_after_secs=21600")
                || second.stderr.contains("retry_after_secs=21599")),
        "{}",
        second.stderr
    );

    // The window has started: renewed, with `replaces` offered (Pebble 2.4 ignores it, and
    // alicert orders again without it, saying so).
    let now = OffsetDateTime::now_utc();
    front.set_window(now - Duration::hours(1), now + Duration::days(1));
    let third = rig.invoke("{}").await;
    let c = third.ok().certificate("www");
    assert_eq!(c.status, "renewed", "{c:?}");
    assert!(c.reason().contains("ARI window started"), "{c:?}");
    assert!(c.notes.iter().any(|n| n.contains("replaces")), "{c:?}");
    assert_eq!(front.state().requests.len(), 2);

    // Opens in 2 hours and closes in 12, before the next daily run (ari_lookahead_hours =
    // 24) → due now; with a 6-hour timer the next run is inside it, so not due yet. (A window
    // that stays open past the next run is left to that run: renewals land inside windows.)
    front.set_window(now + Duration::hours(2), now + Duration::hours(12));
    let fourth = rig.invoke(r#"{"dry_run":true}"#).await;
    let c = fourth.ok().certificate("www");
    assert_eq!(c.status, "would_renew");
    assert!(c.reason().contains("before the next run"), "{c:?}");
    rig.set_acme("ari_lookahead_hours", "6");
    let fifth = rig.invoke(r#"{"action":"status"}"#).await;
    assert_eq!(fifth.ok().certificate("www").status, "up_to_date");

    // The CA cannot answer: fall back to renew_before_days (Pebble's certificates last years).
    front.set_status(503);
    let sixth = rig.invoke(r#"{"action":"status"}"#).await;
    assert_eq!(sixth.ok().certificate("www").status, "up_to_date");
    assert!(
        sixth.stderr.contains("falling back to renew_before_days"),
        "{}",
        sixth.stderr
    );
    front.set_status(200);

    // A profile the directory does not list is refused before ordering.
    let text = std::fs::read_to_string(&rig.config_path)
        .unwrap()
        .replace("profile = \"shortlived\"", "profile = \"tlsserver\"");
    std::fs::write(&rig.config_path, text).unwrap();
    let refused = rig.invoke(r#"{"force":true}"#).await;
    refused.expect_exit(1);
    let msg = refused
        .certificate("www")
        .error()
        .message
        .as_str()
        .to_string();
    assert!(
        msg.contains("tlsserver") && msg.contains("classic, shortlived"),
        "{msg}"
    );
}

/// A certificate from a throw-away CA for `domain`, valid `days_left` more days, naming
/// `crl_url`; returns (chain PEM, key PEM, serial bytes).
fn foreign_cert(
    ca: &(rcgen::Issuer<'static, rcgen::KeyPair>, String),
    domain: &str,
    serial: u64,
    days_left: i64,
    crl_url: &str,
) -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut p = rcgen::CertificateParams::new(vec![domain.to_string()]).unwrap();
    let now = OffsetDateTime::now_utc();
    p.not_before = now - Duration::days(90 - days_left);
    p.not_after = now + Duration::days(days_left);
    p.serial_number = Some(rcgen::SerialNumber::from(serial.to_be_bytes().to_vec()));
    p.use_authority_key_identifier_extension = true;
    p.crl_distribution_points = vec![rcgen::CrlDistributionPoint {
        uris: vec![crl_url.to_string()],
    }];
    let cert = p.signed_by(&key, &ca.0).unwrap();
    (format!("{}{}", cert.pem(), ca.1), key.serialize_pem())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_certificate_is_due_on_the_next_run() {
    let pebble = support::pebble::start().await;
    let front = ari_front::start(&pebble).await;
    // The CA of the certificates found deployed, with its CRL served by the front.
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "Previous CA");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let ca_pem = ca.clone().self_signed(&ca_key).unwrap().pem();
    let issuer = (rcgen::Issuer::new(ca, ca_key), ca_pem);
    let crl_url = front.file_url("previous.crl");
    let now = OffsetDateTime::now_utc();
    let crl = rcgen::CertificateRevocationListParams {
        this_update: now - Duration::hours(1),
        next_update: now + Duration::days(7),
        crl_number: rcgen::SerialNumber::from(7u64.to_be_bytes().to_vec()),
        issuing_distribution_point: None,
        revoked_certs: vec![rcgen::RevokedCertParams {
            serial_number: rcgen::SerialNumber::from(0x1001u64.to_be_bytes().to_vec()),
            revocation_time: now - Duration::minutes(10),
            reason_code: Some(rcgen::RevocationReason::KeyCompromise),
            invalidity_date: None,
        }],
        key_identifier_method: rcgen::KeyIdMethod::Sha256,
    }
    .signed_by(&issuer.0)
    .unwrap();
    front.put_file("previous.crl", crl.der().to_vec());
    // The CA behind the directory does not know these certificates: no ARI answer.
    front.set_status(404);

    let rig = Scenario::new()
        .seed(|s| {
            s.zone("example.com")
                .cdn_domain("www.example.com")
                .cdn_domain("api.example.com")
                .cdn_domain("old.example.com")
        })
        .certificate("www", &["www.example.com"])
        .target(cdn("www.example.com"))
        .certificate("api", &["api.example.com"])
        .target(cdn("api.example.com"))
        .certificate("old", &["old.example.com"])
        .target(cdn("old.example.com"))
        .pebble(pebble)
        .start()
        .await;
    rig.set_acme("directory", &format!("\"{}\"", front.directory_url()));
    for (domain, serial, days) in [
        ("www.example.com", 0x1001u64, 60),
        ("api.example.com", 0x1002, 60),
        ("old.example.com", 0x1003, 10),
    ] {
        let (chain, key) = foreign_cert(&issuer, domain, serial, days, &crl_url);
        rig.emulator.set_cdn_certificate(domain, &chain, &key);
    }
    let status = rig.invoke(r#"{"action":"status"}"#).await;
    let result = status.ok();
    let www = result.certificate("www");
    assert_eq!(www.status, "would_renew");
    assert_eq!(www.reason(), "due: cdn www.example.com: revoked");
    assert_eq!(result.certificate("api").status, "up_to_date");
    let old = result.certificate("old");
    assert_eq!(old.status, "would_renew");
    assert!(old.reason().contains("expires in"), "{old:?}");

    let run = rig.invoke("{}").await;
    let result = run.ok();
    assert_eq!(result.certificate("www").status, "renewed");
    assert_eq!(result.certificate("api").status, "up_to_date");
    assert_eq!(result.certificate("old").status, "renewed");
    let state = rig.emulator.state();
    assert_ne!(
        state.cdn_cert("www.example.com").unwrap().info.serial_no,
        "1001"
    );
    assert_eq!(
        state.cdn_cert("api.example.com").unwrap().info.serial_no,
        "1002"
    );
}
