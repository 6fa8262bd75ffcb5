//! `live` and `vod` through the real binary, Pebble and the emulator: one certificate on an
//! ApsaraVideo Live domain (the PEM, SetLiveDomainCertificate) and a VOD domain (the hub's CAS
//! copy, SetVodDomainSSLCertificate CertType=cas), read back, renewed (the new serial served on
//! both, alicert's superseded CAS copy removed), someone else's CAS certificate left alone.
mod support;
use support::scenario::{Scenario, Target};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_and_vod_deploy_read_back_and_renew() {
    let rig = Scenario::new()
        .seed(|s| {
            s.zone("example.com")
                .live_domain("live.example.com")
                .vod_domain("vod.example.com")
        })
        .certificate("media", &["live.example.com", "vod.example.com"])
        .target(Target::toml(
            r#"{ kind = "live", domain = "live.example.com" }"#,
        ))
        .target(Target::toml(
            r#"{ kind = "vod", domain = "vod.example.com" }"#,
        ))
        .start()
        .await;
    let key = rcgen::KeyPair::generate().unwrap();
    let own = rcgen::CertificateParams::new(vec!["vod.example.com".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let foreign = rig
        .emulator
        .put_cas_certificate("vod-manual", &own.pem(), &key.serialize_pem());

    let first = rig.invoke("{}").await;
    let c = first.certificate_with("media", "issued");
    let labels: Vec<String> = c.targets.iter().map(|t| t.label()).collect();
    assert_eq!(labels, ["live live.example.com", "vod vod.example.com"]);
    assert_eq!(c.target_statuses(), ["deployed", "deployed"]);
    let state = rig.emulator.state();
    let live = state.live_cert("live.example.com").unwrap();
    assert_eq!(live.info.serial_no, c.serial());
    assert_eq!(live.cert_type, "upload");
    assert!(live.cert_name.contains("media"), "{}", live.cert_name);
    let vod = state.vod_cert("vod.example.com").unwrap();
    assert_eq!(vod.info.serial_no, c.serial());
    assert_eq!(vod.cert_type, "cas");
    let first_copy: u64 = vod.cert_id.parse().unwrap();
    let copy = state
        .cas_certs
        .iter()
        .find(|x| x.cert_id == first_copy)
        .unwrap();
    assert_eq!(copy.info.serial_no, c.serial());

    let status = rig.invoke(r#"{"action":"status"}"#).await;
    assert_eq!(
        status.ok().certificate("media").target_statuses(),
        ["up_to_date", "up_to_date"]
    );

    let forced = rig.invoke(r#"{"force":true}"#).await;
    let renewed = forced.certificate_with("media", "renewed");
    assert_ne!(renewed.serial(), c.serial());
    let state = rig.emulator.state();
    assert_eq!(
        state.live_cert("live.example.com").unwrap().info.serial_no,
        renewed.serial()
    );
    let vod = state.vod_cert("vod.example.com").unwrap();
    assert_eq!(vod.info.serial_no, renewed.serial());
    assert_ne!(vod.cert_id, first_copy.to_string());
    assert!(
        !state.cas_certs.iter().any(|x| x.cert_id == first_copy),
        "the superseded CAS copy is removed"
    );
    assert!(state.cas_certs.iter().any(|x| x.cert_id == foreign));
    // One CAS copy per issuance: Live took the PEM, only VOD needed CAS.
    assert_eq!(state.calls_to("UploadUserCertificate").len(), 2);
}
