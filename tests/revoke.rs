//! Revocation without downtime, against real Pebble and the emulator: `alicert revoke` orders a
//! new certificate and rolls it out to every target *before* it revokes the old one; a failed
//! rollout revokes nothing; `--no-replace` revokes only and leaves the old certificate deployed.
mod support;
use support::outcome::RunResultView;
use support::scenario::Scenario;

use support::emulator::EmulatorState;

/// What the emulator holds for `www`: the CDN domain's serial and the serials of alicert's CAS
/// copies (as the services see them, not as alicert reports them).
fn www_serials(state: &EmulatorState) -> (String, Vec<String>) {
    let cdn = state
        .cdn_cert("www.example.com")
        .map(|c| c.info.serial_no.clone())
        .unwrap_or_default();
    let cas = state
        .cas_certs
        .iter()
        .map(|c| c.info.serial_no.clone())
        .collect();
    (cdn, cas)
}

fn cdn_serial(state: &EmulatorState, domain: &str) -> String {
    state
        .cdn_cert(domain)
        .map(|c| c.info.serial_no.clone())
        .unwrap_or_default()
}

/// The serial alicert reports for certificate `name` after a first run.
fn issued(result: &RunResultView, name: &str) -> String {
    result.certificate(name).serial().to_string()
}

/// Pebble's `RevokedAt` (Go's time format, UTC) in unix milliseconds.
fn revoked_at_ms(status: &serde_json::Value) -> i64 {
    let text = status["RevokedAt"].as_str().expect("RevokedAt");
    let (date_time, _) = text.split_once(" +0000").expect("UTC time");
    let (date, clock) = date_time.split_once(' ').unwrap();
    let rfc3339 = format!("{date}T{clock}Z");
    let t = time::OffsetDateTime::parse(&rfc3339, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("{text}: {e}"));
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_new_certificate_is_deployed_everywhere_before_the_old_one_is_revoked() {
    let rig = Scenario::www_and("api").start().await;
    let first = rig.invoke(r#"{"certificates":["www"]}"#).await;
    let old = issued(first.ok(), "www");

    // Dry run: says what it would do, changes nothing.
    let before = rig.emulator.state();
    let dry = rig
        .run(&["--dry-run", "revoke", "--certificate", "www"])
        .await;
    let r = &dry.ok().revocation();
    assert_eq!(r.revoked[0].serial(), old.as_str(), "{r:?}");
    assert_eq!(r.revoked[0].status, "would_revoke", "{r:?}");
    assert_eq!(r.replacement().status, "would_deploy", "{r:?}");
    let after = rig.emulator.state();
    assert_eq!(www_serials(&after), www_serials(&before));
    assert_eq!(
        after.calls_to("UploadUserCertificate").len(),
        before.calls_to("UploadUserCertificate").len()
    );
    assert!(after.calls_to("SetCdnDomainSSLCertificate").len() == 1);
    assert_eq!(rig.pebble.cert_status(&old).await["Status"], "Valid");

    // The real thing, stopped just before the first revocation request (test hook `revoking`):
    // by then every target already serves the new certificate and the old one is still valid.
    let mut run = rig.spawn_invoke(
        r#"{"action":"revoke","certificate":"www","reason":4}"#,
        &[
            ("ALICERT_TEST_PAUSE_AT", "revoking"),
            ("ALICERT_TEST_PAUSE_SECS", "6"),
        ],
    );
    run.wait_for_line("ALICERT_TEST_PAUSED_AT=revoking", 120)
        .await;
    let paused = rig.emulator.state();
    let (cdn_now, cas_now) = www_serials(&paused);
    assert_ne!(cdn_now, old, "the CDN still serves the old certificate");
    assert!(
        cas_now.contains(&cdn_now),
        "CAS holds the new certificate {cdn_now}: {cas_now:?}"
    );
    let at_pause = rig.pebble.cert_status(&old).await;
    assert_eq!(
        at_pause["Status"], "Valid",
        "the old certificate was revoked before the rollout was verified: {at_pause}"
    );
    let done = run.finish().await;
    let r = &done.ok().revocation();
    let new = r.replacement().serial().to_string();
    assert_eq!(new, cdn_now, "{r:?}");
    assert_eq!(r.replacement().status, "deployed", "{r:?}");
    for t in &r.replacement().targets {
        assert_eq!(t.serial(), new.as_str(), "{t:?}");
    }
    assert_eq!(r.revoked.len(), 1, "{r:?}");
    assert_eq!(r.revoked[0].serial(), old.as_str(), "{r:?}");
    assert_eq!(r.revoked[0].status, "revoked", "{r:?}");
    let status = rig.pebble.cert_status(&old).await;
    assert_eq!(status["Status"], "Revoked", "{status}");
    assert_eq!(status["Reason"], 4, "{status}");
    // And by the clocks: the CDN switched to the new certificate (emulator) before the CA
    // recorded the revocation (Pebble's RevokedAt, e.g. "2026-12-01 20:52:33.121832384 +0000 UTC").
    let revoked_at = revoked_at_ms(&status);
    let end = rig.emulator.state();
    let switched = end.cdn_cert("www.example.com").unwrap();
    assert_eq!(switched.info.serial_no, new);
    assert!(
        switched.updated_ms <= revoked_at,
        "CDN switched at {} ms, old certificate revoked at {revoked_at} ms",
        switched.updated_ms
    );
    assert_eq!(rig.pebble.cert_status(&new).await["Status"], "Valid");
    // Only the new certificate is left deployed (the superseded CAS copy was retired).
    let end = rig.emulator.state();
    assert_eq!(www_serials(&end), (new.clone(), vec![new.clone()]));
    // The CDN was switched once by the first run and once by the replacement, never back.
    let sets = end.calls_to("SetCdnDomainSSLCertificate");
    assert_eq!(sets.len(), 2, "{sets:?}");
    // `api` was not touched.
    assert!(end.cdn_cert("api.example.com").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_rollout_revokes_nothing_and_no_replace_revokes_only() {
    let rig = Scenario::www_and("api").start().await;
    let first = rig.invoke("{}").await;
    let www = issued(first.ok(), "www");
    let api = issued(&first.result, "api");

    // The CDN refuses the new certificate: the rollout fails, so the old one is not revoked.
    rig.emulator
        .fail_next("SetCdnDomainSSLCertificate", "InvalidParameter", 400);
    let failed = rig.run(&["revoke", "--certificate", "www"]).await;
    assert_eq!(failed.exit, 1, "{}\n{}", failed.stdout, failed.stderr);
    let r = &failed.result.revocation();
    assert_eq!(r.replacement().status, "failed", "{r:?}");
    assert!(
        r.replacement()
            .error()
            .message
            .as_str()
            .contains("SetCdnDomainSSLCertificate"),
        "{r:?}"
    );
    assert_eq!(r.revoked[0].serial(), www.as_str(), "{r:?}");
    assert_eq!(r.revoked[0].status, "not_revoked", "{r:?}");
    assert!(
        r.revoked[0]
            .error()
            .message
            .as_str()
            .contains("stays valid and deployed"),
        "{r:?}"
    );
    assert_eq!(rig.pebble.cert_status(&www).await["Status"], "Valid");
    assert_eq!(cdn_serial(&rig.emulator.state(), "www.example.com"), www);

    // --no-replace: revoked at the CA, and (by design) still deployed.
    let calls_before = rig.emulator.state().calls.len();
    let only = rig
        .run(&["revoke", "--certificate", "api", "--no-replace"])
        .await;
    let r = &only.ok().revocation();
    assert!(r.replacement.is_none(), "{r:?}");
    assert_eq!(r.revoked[0].serial(), api.as_str(), "{r:?}");
    assert_eq!(r.revoked[0].status, "revoked", "{r:?}");
    assert_eq!(rig.pebble.cert_status(&api).await["Status"], "Revoked");
    let state = rig.emulator.state();
    assert_eq!(cdn_serial(&state, "api.example.com"), api);
    // It only read the target: no certificate uploaded or set.
    for call in &state.calls[calls_before..] {
        assert!(
            !call.action.starts_with("Set") && !call.action.starts_with("Upload"),
            "--no-replace changed something: {}",
            call.action
        );
    }
}
