//! `nlb` (TCPSSL listener certificates) through the real binary, Pebble and the emulator, whose
//! listener stays `Configuring` after each write and refuses overlapping writes: the default
//! and an additional certificate of one listener in one run, read back, renewed, the superseded
//! additional copy dissociated — and someone else's additional certificate left alone.
mod support;
use support::emulator::EmulatorState;
use support::scenario::{Scenario, Target};

const CONFIG: &str = r#"
[[certificate]]
name = "edge"
domains = ["edge.example.com"]
targets = [
  { kind = "nlb", listener_id = "lsn-n1" },
  { kind = "nlb", listener_id = "lsn-n1", certificate = "additional" },
]
"#;

fn additional_serials(state: &EmulatorState) -> Vec<String> {
    let mut v: Vec<String> = state
        .nlb_additional_certs("lsn-n1")
        .iter()
        .map(|c| c.serial_no.clone())
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_and_additional_deploy_renew_and_clean_up_only_alicerts() {
    let rig = Scenario::new()
        .seed(|s| s.zone("example.com").nlb_listener("lsn-n1").nlb_job_ms(400))
        .config(CONFIG)
        .start()
        .await;
    // Someone else's additional certificate is on the listener already.
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
            alicert::aliyun::Product::Nlb,
            "AssociateAdditionalCertificatesWithListener",
            &[
                ("ListenerId", "lsn-n1"),
                ("AdditionalCertificateIds.1", &foreign_id),
            ],
        )
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;

    let first = rig.invoke("{}").await;
    let result = first.ok();
    let c = result.certificate("edge");
    assert_eq!(c.status, "issued", "{result:?}");
    assert_eq!(c.target_statuses(), vec!["deployed", "deployed"]);
    assert_eq!(c.target(1).id, "lsn-n1/additional");
    let serial = c.serial().to_string();
    let state = rig.emulator.state();
    let l = state.nlb_listener("lsn-n1").unwrap();
    assert!(l.job.is_none(), "alicert returned before the job ended");
    assert_eq!(l.refused_busy, 0, "the two writes overlapped");
    assert_eq!(state.nlb_default_cert("lsn-n1").unwrap().serial_no, serial);
    let foreign_serial = state
        .cas_certs
        .iter()
        .find(|c| c.cert_id == foreign)
        .unwrap()
        .info
        .serial_no
        .clone();
    let mut want = vec![serial.clone(), foreign_serial.clone()];
    want.sort();
    assert_eq!(additional_serials(&state), want);
    // Each write waited on its job: GetJobStatus was asked, and every write carried a token.
    assert!(!state.calls_to("GetJobStatus").is_empty());
    for action in [
        "UpdateListenerAttribute",
        "AssociateAdditionalCertificatesWithListener",
    ] {
        let writes = state.calls_to(action);
        let ours: Vec<_> = writes
            .iter()
            .filter(|w| {
                w.params
                    .get("ClientToken")
                    .is_some_and(|t| t.starts_with("alicert-"))
            })
            .collect();
        assert_eq!(ours.len(), 1, "{action}: {writes:#?}");
        assert!(ours[0].code.is_none());
    }

    // A forced renewal: the new certificate replaces both; the superseded additional copy is
    // dissociated (a job too); the foreign one stays.
    let forced = rig.invoke(r#"{"force":true}"#).await;
    let renewed = forced.ok().certificate("edge").serial().to_string();
    assert_ne!(renewed, serial);
    let state = rig.emulator.state();
    assert_eq!(state.nlb_default_cert("lsn-n1").unwrap().serial_no, renewed);
    let mut want = vec![renewed, foreign_serial];
    want.sort();
    assert_eq!(additional_serials(&state), want);
    let dissociated = state.calls_to("DisassociateAdditionalCertificatesWithListener");
    assert_eq!(dissociated.len(), 1, "{dissociated:#?}");
    assert_ne!(
        dissociated[0].params["AdditionalCertificateIds.1"],
        foreign_id
    );
    assert!(state.nlb_listener("lsn-n1").unwrap().job.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_listener_is_waited_for_with_the_same_token() {
    let rig = Scenario::new()
        .seed(|s| s.zone("example.com").nlb_listener("lsn-n1").nlb_job_ms(200))
        .certificate("edge", &["edge.example.com"])
        .target(Target::toml(r#"{ kind = "nlb", listener_id = "lsn-n1" }"#))
        .start()
        .await;
    rig.emulator
        .fail_next("UpdateListenerAttribute", "Conflict.Lock", 400);
    let run = rig.invoke("{}").await;
    let serial = run.ok().certificate("edge").serial().to_string();
    let state = rig.emulator.state();
    assert_eq!(state.nlb_default_cert("lsn-n1").unwrap().serial_no, serial);
    let writes = state.calls_to("UpdateListenerAttribute");
    assert_eq!(writes.len(), 2, "{writes:#?}");
    assert_eq!(writes[0].code.as_deref(), Some("Conflict.Lock"));
    assert!(writes[1].code.is_none());
    assert_eq!(
        writes[0].params["ClientToken"],
        writes[1].params["ClientToken"]
    );
}
