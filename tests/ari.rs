//! Renewal decisions that need the CA's or the issuer's word: ARI windows (RFC 9773),
//! profiles, and revocation seen on the issuer's CRL. Pebble 2.4 has no ARI, no profiles and
//! no CRLs, so a small HTTP front (tests/support/ari_front.rs) serves Pebble's directory with
//! `renewalInfo` and `meta.profiles` added, the renewalInfo answers and a CRL; accounts,
//! orders and certificates are still Pebble's.
mod support;
use support::rig::{cert, ok};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use support::ari_front;
use support::emulator::Seed;
use support::rig::{alicert_bin, Rig};
use time::{Duration, OffsetDateTime};

const OSS_KEY: &str = "oss://alicert-state/acme/account.pem";

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
    let seed = Seed::default()
        .zone("example.com")
        .cdn_domain("www.example.com");
    let rig = Rig::with_pebble(
        pebble,
        seed,
        OSS_KEY,
        r#"
[[certificate]]
name = "www"
domains = ["www.example.com"]
profile = "shortlived"
targets = [{ kind = "cas" }, { kind = "cdn", domain = "www.example.com" }]
"#,
    )
    .await;
    rig.set_acme("directory", &format!("\"{}\"", front.directory_url()));
    let bin = alicert_bin();

    // Missing on target: no ARI question needed. The listed profile is accepted.
    let first = rig.invoke(&bin, "{}").await;
    assert_eq!(cert(ok(&first), "www")["status"], "issued");
    assert!(front.state().requests.is_empty());

    // The window starts in 60 days: up to date, one question for two targets serving it.
    let second = rig.invoke(&bin, r#"{"action":"status"}"#).await;
    assert_eq!(cert(ok(&second), "www")["status"], "up_to_date");
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
    let third = rig.invoke(&bin, "{}").await;
    let c = cert(ok(&third), "www");
    assert_eq!(c["status"], "renewed", "{c}");
    assert!(
        c["reason"].as_str().unwrap().contains("ARI window started"),
        "{c}"
    );
    assert!(c["notes"].to_string().contains("replaces"), "{c}");
    assert_eq!(front.state().requests.len(), 2);

    // Starts in 12 hours: before the next daily run (ari_lookahead_hours = 24) → due; with a
    // 6-hour timer it is not due yet.
    front.set_window(now + Duration::hours(12), now + Duration::days(2));
    let fourth = rig.invoke(&bin, r#"{"dry_run":true}"#).await;
    let c = cert(ok(&fourth), "www");
    assert_eq!(c["status"], "would_renew");
    assert!(
        c["reason"]
            .as_str()
            .unwrap()
            .contains("before the next run"),
        "{c}"
    );
    rig.set_acme("ari_lookahead_hours", "6");
    let fifth = rig.invoke(&bin, r#"{"action":"status"}"#).await;
    assert_eq!(cert(ok(&fifth), "www")["status"], "up_to_date");

    // The CA cannot answer: fall back to renew_before_days (Pebble's certificates last years).
    front.set_status(503);
    let sixth = rig.invoke(&bin, r#"{"action":"status"}"#).await;
    assert_eq!(cert(ok(&sixth), "www")["status"], "up_to_date");
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
    let refused = rig.invoke(&bin, r#"{"force":true}"#).await;
    assert_eq!(refused.code, 1);
    let msg = cert(&refused.result, "www")["error"]["message"]
        .as_str()
        .unwrap()
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

    let seed = Seed::default()
        .zone("example.com")
        .cdn_domain("www.example.com")
        .cdn_domain("api.example.com")
        .cdn_domain("old.example.com");
    let rig = Rig::with_pebble(
        pebble,
        seed,
        OSS_KEY,
        r#"
[[certificate]]
name = "www"
domains = ["www.example.com"]
targets = [{ kind = "cdn", domain = "www.example.com" }]

[[certificate]]
name = "api"
domains = ["api.example.com"]
targets = [{ kind = "cdn", domain = "api.example.com" }]

[[certificate]]
name = "old"
domains = ["old.example.com"]
targets = [{ kind = "cdn", domain = "old.example.com" }]
"#,
    )
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
    let bin = alicert_bin();

    let status = rig.invoke(&bin, r#"{"action":"status"}"#).await;
    let result = ok(&status);
    let www = cert(result, "www");
    assert_eq!(www["status"], "would_renew");
    assert_eq!(www["reason"], "due: cdn www.example.com: revoked");
    assert_eq!(cert(result, "api")["status"], "up_to_date");
    let old = cert(result, "old");
    assert_eq!(old["status"], "would_renew");
    assert!(
        old["reason"].as_str().unwrap().contains("expires in"),
        "{old}"
    );

    let run = rig.invoke(&bin, "{}").await;
    let result = ok(&run);
    assert_eq!(cert(result, "www")["status"], "renewed");
    assert_eq!(cert(result, "api")["status"], "up_to_date");
    assert_eq!(cert(result, "old")["status"], "renewed");
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
