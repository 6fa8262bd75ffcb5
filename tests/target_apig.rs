//! `apig` (cloud-native API Gateway domains) through the real binary, Pebble and the emulator:
//! deploy by CAS identifier, read back, renew, clean up — and every other TLS setting of the
//! domain (TLS versions, HTTP/2, mTLS and its CA, forceHttps, cipher suites, scope) survives,
//! although the emulator's UpdateDomain resets whatever a request leaves out.
mod support;

use serde_json::json;
use support::emulator::{ApigDomain, EmulatorState};
use support::scenario::{Scenario, Target};

const NAME: &str = "api.example.com";

/// A certificate + key for `names`, self-signed, valid until `days` from now (someone else's).
fn self_signed(names: &[&str], days: i64) -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params =
        rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .unwrap();
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(30);
    params.not_after = now + time::Duration::days(days);
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// The domain's settings but the certificate (and the update counter).
fn settings(state: &EmulatorState) -> ApigDomain {
    let mut d = state.apig_domain(NAME).unwrap().clone();
    d.cert_identifier = None;
    d.updates = 0;
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploys_renews_and_keeps_every_tls_setting() {
    let rig = Scenario::new()
        .seed(|s| s.zone("example.com").apig_domain(NAME))
        .certificate("api", &[NAME])
        .target(Target::toml(
            r#"{ kind = "apig", domain = "api.example.com" }"#,
        ))
        .start()
        .await;
    // The user's own setup: their certificate (expiring soon) and the CA that verifies clients,
    // both in CAS, and every TLS setting away from its default.
    let (cert, key) = self_signed(&[NAME], -1);
    let theirs = rig.emulator.put_cas_certificate("user-api", &cert, &key);
    let (ca, ca_key) = self_signed(&["clients.example.com"], 365);
    let ca_id = rig
        .emulator
        .put_cas_certificate("user-client-ca", &ca, &ca_key);
    let ciphers = json!({"configType": "Custom", "tlsCipherSuite": [
        {"name": "ECDHE-ECDSA-AES256-GCM-SHA384", "supportVersions": ["TLS 1.2"]},
        {"name": "TLS_AES_256_GCM_SHA384", "supportVersions": ["TLS 1.3"]}]});
    rig.emulator.edit_apig_domain(NAME, |d| {
        d.protocol = "HTTPS".into();
        d.force_https = true;
        d.m_tls_enabled = true;
        d.http2_option = "Open".into();
        d.tls_min = Some("TLS 1.2".into());
        d.tls_max = Some("TLS 1.3".into());
        d.cert_identifier = Some(format!("{theirs}-cn-hangzhou"));
        d.ca_cert_identifier = Some(format!("{ca_id}-cn-hangzhou"));
        d.client_ca_cert = Some(ca.clone());
        d.domain_scope = "Serverless".into();
        d.tls_cipher_suites_config = Some(ciphers.clone());
    });
    let before = settings(&rig.emulator.state());

    let first = rig.invoke("{}").await;
    let result = first.ok();
    let c = result.certificate("api");
    // The user's certificate had expired: renewed.
    assert_eq!(c.status, "renewed", "{result:?}");
    assert_eq!(c.target(0).kind, "apig");
    assert_eq!(c.target(0).id, NAME);
    assert_eq!(c.target(0).status, "deployed", "{:?}", c.target(0));
    let serial = c.serial().to_string();
    let state = rig.emulator.state();
    assert_eq!(state.apig_cert(NAME).unwrap().serial_no, serial);
    let d = state.apig_domain(NAME).unwrap();
    assert!(
        d.cert_identifier
            .as_ref()
            .unwrap()
            .ends_with("-cn-hangzhou"),
        "{d:?}"
    );
    assert_eq!(d.updates, 1);
    assert_eq!(settings(&state), before, "a TLS setting changed");
    // The request carried each setting back (the emulator would have reset a missing one).
    let sent = &state.calls_to("UpdateDomain")[0].params;
    for (k, v) in [
        ("protocol", "HTTPS"),
        ("forceHttps", "true"),
        ("mTLSEnabled", "true"),
        ("http2Option", "Open"),
        ("tlsMin", "TLS 1.2"),
        ("tlsMax", "TLS 1.3"),
        ("domainScope", "Serverless"),
    ] {
        assert_eq!(sent.get(k).map(String::as_str), Some(v), "{k}: {sent:?}");
    }
    assert_eq!(sent["tlsCipherSuitesConfig"], ciphers.to_string());
    // The status run reads it back as up to date.
    let status = rig.invoke(r#"{"action":"status"}"#).await;
    assert_eq!(
        status.ok().certificate("api").target(0).status,
        "up_to_date"
    );

    // A forced renewal: the new serial is served, alicert's superseded CAS copy is removed,
    // the user's certificate and CA are not, and the settings still hold.
    let first_copy = state
        .apig_domain(NAME)
        .unwrap()
        .cert_identifier
        .clone()
        .unwrap();
    let forced = rig.invoke(r#"{"force":true}"#).await;
    let result = forced.ok();
    let renewed = result.certificate("api").serial().to_string();
    assert_ne!(renewed, serial);
    let state = rig.emulator.state();
    assert_eq!(state.apig_cert(NAME).unwrap().serial_no, renewed);
    assert_eq!(settings(&state), before);
    let first_id: u64 = first_copy.split('-').next().unwrap().parse().unwrap();
    assert!(
        !state.cas_certs.iter().any(|c| c.cert_id == first_id),
        "the superseded copy was kept"
    );
    for id in [theirs, ca_id] {
        assert!(
            state.cas_certs.iter().any(|c| c.cert_id == id),
            "{id} deleted"
        );
    }
    assert!(state
        .calls_to("DeleteUserCertificate")
        .iter()
        .all(
            |d| d.params["CertId"] != theirs.to_string() && d.params["CertId"] != ca_id.to_string()
        ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_domain_gets_https_and_a_missing_domain_fails_clearly() {
    let rig = Scenario::new()
        .seed(|s| {
            s.zone("example.com").apig_domain(NAME).apig(ApigDomain {
                region: "cn-shanghai".into(),
                ..ApigDomain::new("sh.example.com")
            })
        })
        .certificate("api", &[NAME, "sh.example.com"])
        .target(Target::toml(
            r#"{ kind = "apig", domain = "api.example.com" }"#,
        ))
        .target(Target::toml(
            r#"{ kind = "apig", domain = "sh.example.com", region = "cn-shanghai" }"#,
        ))
        .certificate("gone", &["gone.example.com"])
        .target(Target::toml(
            r#"{ kind = "apig", domain = "gone.example.com" }"#,
        ))
        .start()
        .await;
    let run = rig.invoke("{}").await;
    run.expect_exit(1);
    let c = run.certificate("api").clone();
    assert_eq!(c.status, "issued", "{}", run.stdout);
    assert_eq!(c.target_statuses(), vec!["deployed", "deployed"], "{c:?}");
    let gone = run.certificate("gone");
    assert_eq!(gone.status, "failed");
    let e = gone.target(0).error();
    assert!(
        e.message
            .contains("no domain named gone.example.com in cn-hangzhou"),
        "{e:?}"
    );
    let state = rig.emulator.state();
    for name in [NAME, "sh.example.com"] {
        let d = state.apig_domain(name).unwrap();
        assert_eq!(d.protocol, "HTTPS");
        assert!(!d.force_https, "plain HTTP must keep answering");
        assert_eq!(d.http2_option, "GlobalConfig");
        assert_eq!(state.apig_cert(name).unwrap().serial_no, c.serial());
    }
}
