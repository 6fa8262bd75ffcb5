//! `ddos` through the real binary, Pebble and the emulator's Anti-DDoS Pro (cn-hangzhou) and
//! Premium (ap-southeast-1) websites: AssociateWebCert with the hub's CAS copy
//! (`CertIdentifier`), read back through DescribeCerts → CAS, renewed (the new serial served, the
//! superseded copy removed once nothing uses it), someone else's certificate and a copy still in
//! use on a website outside the config left alone.
mod support;
use support::scenario::{Scenario, Target};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websites_in_both_regions_deploy_read_back_and_renew() {
    let rig = Scenario::new()
        .seed(|s| {
            s.zone("example.com")
                .ddos_domain("www.example.com", "cn-hangzhou")
                .ddos_domain("intl.example.com", "ap-southeast-1")
                .ddos_domain("other.example.com", "cn-hangzhou")
        })
        .certificate("www", &["www.example.com", "intl.example.com"])
        .target(Target::toml(
            r#"{ kind = "ddos", domain = "www.example.com" }"#,
        ))
        .target(Target::toml(
            r#"{ kind = "ddos", domain = "intl.example.com", region = "ap-southeast-1" }"#,
        ))
        .start()
        .await;
    let key = rcgen::KeyPair::generate().unwrap();
    let own = rcgen::CertificateParams::new(vec!["www.example.com".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let foreign = rig
        .emulator
        .put_cas_certificate("www-manual", &own.pem(), &key.serialize_pem());

    let first = rig.invoke("{}").await;
    let c = first.certificate_with("www", "issued");
    assert_eq!(c.target_statuses(), ["deployed", "deployed"]);
    let state = rig.emulator.state();
    let copy = state.ddos_cert("www.example.com").unwrap().clone();
    assert_eq!(copy.info.serial_no, c.serial());
    assert_eq!(
        state.ddos_cert("intl.example.com").unwrap().cert_id,
        copy.cert_id
    );
    let writes = state.calls_to("AssociateWebCert");
    assert_eq!(writes.len(), 2);
    for w in &writes {
        assert_eq!(
            w.params["CertIdentifier"],
            format!("{}-cn-hangzhou", copy.cert_id)
        );
        assert!(!w.params.contains_key("CertId"), "{w:?}");
    }

    let status = rig.invoke(r#"{"action":"status"}"#).await;
    assert_eq!(
        status.ok().certificate("www").target_statuses(),
        ["up_to_date", "up_to_date"]
    );

    // Someone points another website at alicert's copy: it must survive the renewal.
    rig.emulator
        .set_ddos_certificate("other.example.com", copy.cert_id);
    let forced = rig.invoke(r#"{"force":true}"#).await;
    let renewed = forced.certificate_with("www", "renewed");
    let state = rig.emulator.state();
    for d in ["www.example.com", "intl.example.com"] {
        assert_eq!(
            state.ddos_cert(d).unwrap().info.serial_no,
            renewed.serial(),
            "{d}"
        );
    }
    assert!(
        state.cas_certs.iter().any(|x| x.cert_id == copy.cert_id),
        "in use: kept"
    );
    assert!(state.cas_certs.iter().any(|x| x.cert_id == foreign));

    // Once nothing uses it, the next renewal removes it; the foreign one stays.
    rig.emulator
        .set_ddos_certificate("other.example.com", foreign);
    let again = rig.invoke(r#"{"force":true}"#).await;
    again.certificate_with("www", "renewed");
    let state = rig.emulator.state();
    assert!(!state.cas_certs.iter().any(|x| x.cert_id == copy.cert_id));
    assert!(state.cas_certs.iter().any(|x| x.cert_id == foreign));
}
