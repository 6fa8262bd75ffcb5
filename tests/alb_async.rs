//! ALB writes are asynchronous jobs: one certificate with the default and an SNI target on one
//! listener, plus a second certificate's SNI target on the same listener, all in one run —
//! through the real binary, Pebble and the emulator's listener that stays `Configuring` after
//! each write and refuses overlapping writes. alicert used to send these writes back to back
//! (and concurrently for the two certificates): the second one was refused.
mod support;
use support::outcome::RunResultView;
use support::scenario::{Scenario, Target};

use support::emulator::EmulatorState;

const CONFIG: &str = r#"
[[certificate]]
name = "www"
domains = ["www.example.com"]
targets = [
  { kind = "alb", listener_id = "lsn-1" },
  { kind = "alb", listener_id = "lsn-1", certificate = "additional" },
]

[[certificate]]
name = "api"
domains = ["api.example.com"]
targets = [
  { kind = "alb", listener_id = "lsn-1", certificate = "additional", region = "cn-hangzhou" },
]
"#;

/// Serials (lower-case hex) of the listener's additional certificates, as the emulator has them.
fn additional_serials(state: &EmulatorState) -> Vec<String> {
    let mut v: Vec<String> = state
        .alb_additional_certs("lsn-1")
        .iter()
        .map(|c| c.serial_no.clone())
        .collect();
    v.sort();
    v
}

fn serial(result: &RunResultView, name: &str) -> String {
    result.certificate(name).serial().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_and_sni_of_two_certificates_on_one_listener_in_one_run() {
    // Long enough jobs that back-to-back or concurrent writes certainly overlap.
    let rig = Scenario::new()
        .seed(|s| s.zone("example.com").alb_listener("lsn-1").alb_job_ms(500))
        .config(CONFIG)
        .start()
        .await;
    let first = rig.invoke("{}").await;
    let result = first.ok();
    for name in ["www", "api"] {
        let c = result.certificate(name);
        assert_eq!(c.status, "issued", "{result:?}");
        for t in &c.targets {
            assert_eq!(t.status, "deployed", "{t:?}");
        }
    }
    let (www, api) = (serial(result, "www"), serial(result, "api"));
    let state = rig.emulator.state();
    let l = state.alb_listener("lsn-1").unwrap();
    assert!(l.job.is_none(), "alicert returned before the job ended");
    assert_eq!(state.alb_default_cert("lsn-1").unwrap().serial_no, www);
    let mut want = vec![www.clone(), api.clone()];
    want.sort();
    assert_eq!(additional_serials(&state), want);
    // Three writes, none overlapping another job's run (refusals would have been retried, but
    // serialisation means there are none to retry), each with a ClientToken.
    let writes: Vec<_> = state
        .calls
        .iter()
        .filter(|c| {
            c.action == "UpdateListenerAttribute"
                || c.action == "AssociateAdditionalCertificatesWithListener"
        })
        .collect();
    assert_eq!(writes.len(), 3, "{writes:#?}");
    for w in &writes {
        assert!(w.code.is_none(), "{w:?}");
        let token = &w.params["ClientToken"];
        assert!(token.len() <= 64 && token.is_ascii(), "{token}");
    }
    assert_eq!(l.refused_busy, 0);

    // A forced renewal: new certificates replace the old ones, the superseded SNI copies are
    // dissociated (each a job too), and each certificate removes only its own.
    let forced = rig.invoke(r#"{"force":true}"#).await;
    let result = forced.ok();
    let (www2, api2) = (serial(result, "www"), serial(result, "api"));
    assert_ne!(www2, www);
    assert_ne!(api2, api);
    let state = rig.emulator.state();
    assert_eq!(state.alb_default_cert("lsn-1").unwrap().serial_no, www2);
    let mut want = vec![www2, api2];
    want.sort();
    assert_eq!(additional_serials(&state), want);
    let l = state.alb_listener("lsn-1").unwrap();
    assert!(l.job.is_none());
    assert_eq!(
        state
            .calls_to("DissociateAdditionalCertificatesFromListener")
            .len(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_busy_with_someone_elses_job_is_waited_for() {
    // A console user's change is still running when alicert writes: the refused write is
    // retried with the same ClientToken until the listener is free.
    let rig = Scenario::new()
        .seed(|s| s.zone("example.com").alb_listener("lsn-1").alb_job_ms(300))
        .certificate("www", &["www.example.com"])
        .target(Target::toml(
            r#"{ kind = "alb", listener_id = "lsn-1", certificate = "additional" }"#,
        ))
        .start()
        .await;
    rig.emulator.fail_next(
        "AssociateAdditionalCertificatesWithListener",
        "IncorrectStatus.Listener",
        400,
    );
    let run = rig.invoke("{}").await;
    let result = run.ok();
    let www = serial(result, "www");
    let state = rig.emulator.state();
    assert_eq!(additional_serials(&state), vec![www]);
    let writes = state.calls_to("AssociateAdditionalCertificatesWithListener");
    assert_eq!(writes.len(), 2, "{writes:#?}");
    assert_eq!(writes[0].code.as_deref(), Some("IncorrectStatus.Listener"));
    assert!(writes[1].code.is_none());
    assert_eq!(
        writes[0].params["ClientToken"], writes[1].params["ClientToken"],
        "a retried write carries the same token"
    );
}
