//! `ga` (Global Accelerator HTTPS listeners) through the real binary, Pebble and the emulator,
//! whose accelerator refuses writes while a job runs: the default certificate and the additional
//! (SNI) certificates of every domain of the certificate, in one run, read back, renewed in
//! place — someone else's additional certificate untouched, the superseded CAS copy removed.
mod support;
use support::scenario::Scenario;

const CONFIG: &str = r#"
[[certificate]]
name = "edge"
domains = ["edge.example.com", "www.example.com"]
targets = [
  { kind = "ga", listener_id = "lsr-g1" },
  { kind = "ga", listener_id = "lsr-g1", certificate = "additional" },
]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_and_additional_deploy_and_renew_in_place() {
    let rig = Scenario::new()
        .seed(|s| {
            s.zone("example.com")
                .ga_listener("lsr-g1", "ga-acc1")
                .ga_job_ms(300)
        })
        .config(CONFIG)
        .start()
        .await;
    // Someone else's SNI certificate for another domain.
    let key = rcgen::KeyPair::generate().unwrap();
    let own = rcgen::CertificateParams::new(vec!["other.example.com".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let foreign =
        rig.emulator
            .put_cas_certificate("other-manual", &own.pem(), &key.serialize_pem());
    let foreign_id = format!("{foreign}-cn-hangzhou");
    let client = rig
        .emulator
        .client(support::rig::AK_ID, support::rig::AK_SECRET, None);
    client
        .rpc(
            alicert::aliyun::Product::Ga,
            "AssociateAdditionalCertificatesWithListener",
            &[
                ("RegionId", "cn-hangzhou"),
                ("ListenerId", "lsr-g1"),
                ("AcceleratorId", "ga-acc1"),
                ("Certificates.1.Domain", "other.example.com"),
                ("Certificates.1.Id", &foreign_id),
            ],
        )
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;

    let first = rig.invoke("{}").await;
    let result = first.ok();
    let c = result.certificate("edge");
    assert_eq!(c.status, "issued", "{result:?}");
    assert_eq!(c.target_statuses(), vec!["deployed", "deployed"]);
    let serial = c.serial().to_string();
    let state = rig.emulator.state();
    let l = state.ga_listener("lsr-g1").unwrap();
    assert!(l.job.is_none(), "alicert returned before the job ended");
    assert_eq!(l.refused_busy, 0, "writes overlapped");
    assert_eq!(state.ga_default_cert("lsr-g1").unwrap().serial_no, serial);
    for d in ["edge.example.com", "www.example.com"] {
        assert_eq!(
            state.ga_additional_cert("lsr-g1", d).unwrap().serial_no,
            serial,
            "{d}"
        );
    }
    assert_eq!(
        state
            .calls_to("AssociateAdditionalCertificatesWithListener")
            .len(),
        3,
        "the foreign one and one per domain"
    );
    let first_copy = l.default_certificate.clone().unwrap();

    // A forced renewal replaces each domain's certificate in place and the default.
    let forced = rig.invoke(r#"{"force":true}"#).await;
    let renewed = forced.ok().certificate("edge").serial().to_string();
    assert_ne!(renewed, serial);
    let state = rig.emulator.state();
    assert_eq!(state.ga_default_cert("lsr-g1").unwrap().serial_no, renewed);
    for d in ["edge.example.com", "www.example.com"] {
        assert_eq!(
            state.ga_additional_cert("lsr-g1", d).unwrap().serial_no,
            renewed,
            "{d}"
        );
    }
    let updates = state.calls_to("UpdateAdditionalCertificateWithListener");
    assert_eq!(updates.len(), 2, "{updates:#?}");
    let l = state.ga_listener("lsr-g1").unwrap();
    assert!(l
        .additional
        .contains(&("other.example.com".to_string(), foreign_id)));
    assert_eq!(l.additional.len(), 3);
    assert_eq!(l.refused_busy, 0);
    // The superseded CAS copy is no longer used anywhere, so the hub removed it; the foreign
    // certificate stays.
    let first_id: u64 = first_copy.split('-').next().unwrap().parse().unwrap();
    assert!(!state.cas_certs.iter().any(|c| c.cert_id == first_id));
    assert!(state.cas_certs.iter().any(|c| c.cert_id == foreign));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_accelerator_is_waited_for_with_the_same_token() {
    let rig = Scenario::new()
        .seed(|s| {
            s.zone("example.com")
                .ga_listener("lsr-g1", "ga-acc1")
                .ga_job_ms(200)
        })
        .certificate("edge", &["edge.example.com"])
        .target(support::scenario::Target::toml(
            r#"{ kind = "ga", listener_id = "lsr-g1" }"#,
        ))
        .start()
        .await;
    rig.emulator
        .fail_next("UpdateListener", "StateError.Accelerator", 400);
    let run = rig.invoke("{}").await;
    let serial = run.ok().certificate("edge").serial().to_string();
    let state = rig.emulator.state();
    assert_eq!(state.ga_default_cert("lsr-g1").unwrap().serial_no, serial);
    let writes = state.calls_to("UpdateListener");
    assert_eq!(writes.len(), 2, "{writes:#?}");
    assert_eq!(writes[0].code.as_deref(), Some("StateError.Accelerator"));
    assert!(writes[1].code.is_none());
    assert_eq!(
        writes[0].params["ClientToken"],
        writes[1].params["ClientToken"]
    );
}
