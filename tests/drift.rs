//! Drift (issue 18 part 3): a target that serves a certificate alicert did not deploy there (a
//! console edit, another tool) is reported per target in the result, the report and the
//! notifications, and left in place until the certificate it serves is due; `force` replaces
//! it. Through the real binary, Pebble and the emulator.
mod support;
use serde_json::Value;
use support::console::console_cert;
use support::rig::{Rig, BUCKET};
use support::scenario::{cdn, Scenario, Target};

const WWW: &str = "www.example.com";

/// Certificate `www` for www.example.com on the CDN domain, plus `extra` (TOML config).
async fn cdn_rig(extra: &str) -> Rig {
    Scenario::new()
        .seed(|s| s.zone("example.com").cdn_domain(WWW))
        .certificate("www", &[WWW])
        .target(cdn(WWW))
        .config(extra)
        .start()
        .await
}

fn cdn_serial(rig: &Rig) -> String {
    rig.emulator
        .state()
        .cdn_cert(WWW)
        .expect("the CDN domain serves a certificate")
        .info
        .serial_no
        .clone()
}

fn cdn_writes(rig: &Rig) -> usize {
    rig.emulator
        .state()
        .calls_to("SetCdnDomainSSLCertificate")
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_certificate_that_is_not_due_is_reported_kept_and_replaced_only_by_force() {
    let rig = cdn_rig("").await;
    // Someone uploads their own certificate on the console, for other names than alicert's
    // certificate has: by the usual rule it would be due ("domains changed"), but it is not
    // alicert's, so only its own dates count (80 of 90 days left).
    let (pem, key) = console_cert(&["legacy.example.com"], 90, 80);
    rig.emulator.set_cdn_certificate(WWW, &pem, &key);
    let foreign = cdn_serial(&rig);

    let run = rig.invoke("{}").await;
    let c = run.certificate_with("www", "up_to_date");
    let t = c.target(0);
    assert_eq!(t.status(), "up_to_date", "{t:?}");
    assert_eq!(t.serial(), foreign);
    let d = t.drift();
    assert_eq!(d.action, "skipped", "{d:?}");
    assert_eq!(d.serial, foreign);
    assert_eq!(d.names, ["legacy.example.com"]);
    assert_eq!(
        d.deployed_as.as_deref(),
        Some("preexisting-www.example.com")
    );
    assert!(d.reason.contains("`preexisting-www.example.com`"), "{d:?}");
    assert!(d.issuer.contains("rcgen"), "{d:?}");
    assert_eq!(
        cdn_writes(&rig),
        0,
        "the console certificate was overwritten"
    );
    assert_eq!(cdn_serial(&rig), foreign);

    // A status run reports the same.
    let status = rig.invoke(r#"{"action":"status"}"#).await;
    let s = status.certificate_with("www", "up_to_date");
    assert_eq!(s.target(0).drift(), d);

    // `force` replaces it, and says so.
    let forced = rig.invoke(r#"{"force":true}"#).await;
    let f = forced.certificate_with("www", "renewed");
    let t = f.target(0);
    assert_eq!(t.status(), "deployed");
    assert_eq!(t.serial(), f.serial());
    assert_eq!(t.drift().action, "replaced");
    assert_eq!(t.drift().serial, foreign);
    assert_eq!(cdn_serial(&rig), f.serial());

    // What alicert deployed is alicert's: no drift on the next run.
    let after = rig.invoke(r#"{"action":"status"}"#).await;
    let a = after.certificate_with("www", "up_to_date");
    assert_eq!(a.target(0).drift, None, "{a:?}");
    assert_eq!(a.target(0).serial(), f.serial());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_certificate_that_is_due_is_replaced_and_reported() {
    let rig = cdn_rig("").await;
    let (pem, key) = console_cert(&[WWW], 90, 5);
    rig.emulator.set_cdn_certificate(WWW, &pem, &key);
    let foreign = cdn_serial(&rig);

    let status = rig.invoke(r#"{"action":"status"}"#).await;
    let s = status.certificate_with("www", "would_renew");
    assert_eq!(s.target(0).status(), "would_deploy");
    assert_eq!(s.target(0).drift().action, "would_replace");
    assert_eq!(cdn_writes(&rig), 0);

    let run = rig.invoke("{}").await;
    let c = run.certificate_with("www", "renewed");
    assert!(c.reason().contains("expires in"), "{c:?}");
    let t = c.target(0);
    assert_eq!((t.status(), t.serial()), ("deployed", c.serial()));
    let d = t.drift();
    assert_eq!(
        (d.action.as_str(), d.serial.as_str()),
        ("replaced", foreign.as_str())
    );
    assert_eq!(cdn_serial(&rig), c.serial());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alicert_deployed_endpoint_has_no_drift() {
    let rig = cdn_rig("").await;
    let first = rig.invoke("{}").await;
    let c = first.certificate_with("www", "issued");
    assert_eq!(c.target(0).drift, None, "{c:?}");
    let status = rig.invoke(r#"{"action":"status"}"#).await;
    let s = status.certificate_with("www", "up_to_date");
    assert_eq!(s.target(0).drift, None, "{s:?}");
    // The same certificate uploaded again under a name alicert does not give is drift: the
    // name, not the serial, says whose it is.
    let served = rig.emulator.state().cdn_cert(WWW).unwrap().clone();
    rig.emulator
        .set_cdn_certificate(WWW, &served.cert, &served.key);
    let again = rig.invoke(r#"{"action":"status"}"#).await;
    let d = again
        .certificate_with("www", "up_to_date")
        .target(0)
        .drift()
        .clone();
    assert_eq!(
        (d.action.as_str(), d.serial.as_str()),
        ("skipped", c.serial())
    );
}

/// A listener kind (ALB) that binds a CAS id, beside a CDN domain of the same certificate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drifted_alb_listener_is_kept_while_the_other_targets_deploy_and_verify() {
    let rig = Scenario::new()
        .seed(|s| s.zone("example.com").cdn_domain(WWW).alb_listener("lsn-1"))
        .certificate("www", &[WWW])
        .target(Target::toml(r#"{ kind = "alb", listener_id = "lsn-1" }"#))
        .target(cdn(WWW))
        .start()
        .await;
    let (pem, key) = console_cert(&[WWW], 90, 60);
    let manual = rig.emulator.put_cas_certificate("www-manual", &pem, &key);
    rig.emulator.set_alb_default_certificate("lsn-1", manual);
    let foreign = rig
        .emulator
        .state()
        .alb_default_cert("lsn-1")
        .unwrap()
        .serial_no
        .clone();

    let run = rig.invoke("{}").await;
    run.expect_exit(0);
    let c = run.certificate("www");
    assert!(matches!(c.status(), "renewed" | "issued"), "{c:?}");
    let (alb, cdn_t) = (
        c.targets.iter().find(|t| t.kind == "alb").unwrap(),
        c.targets.iter().find(|t| t.kind == "cdn").unwrap(),
    );
    assert_eq!(
        (alb.status(), alb.serial()),
        ("up_to_date", foreign.as_str())
    );
    let d = alb.drift();
    assert_eq!(d.action, "skipped");
    assert_eq!(d.deployed_as.as_deref(), Some("www-manual"));
    assert_eq!((cdn_t.status(), cdn_t.serial()), ("deployed", c.serial()));
    assert_eq!(cdn_t.drift, None);
    let state = rig.emulator.state();
    assert_eq!(state.alb_default_cert("lsn-1").unwrap().serial_no, foreign);
    assert!(state.calls_to("UpdateListenerAttribute").is_empty());
    assert_eq!(cdn_serial(&rig), c.serial());

    // Forced: the listener gets alicert's copy, which the next read knows by its CAS name.
    let forced = rig.invoke(r#"{"force":true}"#).await;
    let f = forced.certificate_with("www", "renewed");
    let alb = f.targets.iter().find(|t| t.kind == "alb").unwrap();
    assert_eq!(
        (alb.status(), alb.drift().action.as_str()),
        ("deployed", "replaced")
    );
    let status = rig.invoke(r#"{"action":"status"}"#).await;
    let s = status.certificate_with("www", "up_to_date");
    for t in &s.targets {
        assert_eq!((t.serial(), &t.drift), (f.serial(), &None), "{t:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_and_the_notification_carry_the_drift() {
    let (base, inbox) = support::inbox::start(support::inbox::webhook_only).await;
    let rig = cdn_rig(&format!(
        "[report]\nbucket = \"{BUCKET}\"\nprefix = \"reports/\"\n[notify]\nwebhook = \"{base}/hook\"\n[metrics]\n"
    ))
    .await;
    let (pem, key) = console_cert(&["legacy.example.com"], 90, 80);
    rig.emulator.set_cdn_certificate(WWW, &pem, &key);
    let foreign = cdn_serial(&rig);

    let run = rig.invoke("{}").await;
    run.certificate_with("www", "up_to_date");
    // The SLS line counts it.
    let line = run
        .stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["log"] == "alicert.certificate")
        .unwrap_or_else(|| panic!("no summary line: {}", run.stderr));
    assert_eq!(line["targets_drifted"], 1, "{line}");
    // So does CloudMonitor, for an alarm on it.
    let state = rig.emulator.state();
    let drifted = state
        .custom_metrics
        .iter()
        .find(|m| m.metric_name == "alicert_targets_drifted")
        .unwrap_or_else(|| panic!("no drift metric: {:?}", state.custom_metrics));
    assert_eq!(drifted.values["value"], 1);
    let object = |key: &str| {
        rig.emulator
            .state()
            .oss_objects
            .get(&format!("{BUCKET}/reports/{key}"))
            .unwrap_or_else(|| panic!("no {key}: a drift alone is worth a report"))
            .body
            .clone()
    };
    let doc: Value = serde_json::from_slice(&object("status.json")).unwrap();
    let entry = &doc["certificates"][0]["targets"][0];
    assert_eq!(entry["drift"]["action"], "skipped", "{doc}");
    assert_eq!(entry["drift"]["serial"], foreign.as_str(), "{doc}");
    let page = String::from_utf8(object("report.html")).unwrap();
    assert!(
        page.contains(r#"<div class="drift" data-action="skipped">"#) && page.contains(&foreign),
        "no drift in the report"
    );

    let got = inbox.lock().unwrap().clone();
    let (_, body, _) = got
        .iter()
        .find(|(c, _, _)| c == "webhook")
        .unwrap_or_else(|| panic!("no webhook message: {got:?}"));
    assert_eq!(body["event"], "drift", "{body}");
    let target = &body["certificates"][0]["targets"][0];
    assert_eq!(target["drift"]["serial"], foreign.as_str(), "{body}");
    let summary = body["summary"].as_str().unwrap();
    assert!(
        summary.contains("DRIFT")
            && summary.contains(&foreign)
            && summary.contains("left in place"),
        "{summary}"
    );
}
