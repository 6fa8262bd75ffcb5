//! Failure memory between runs (issue 15, parts 3 and 4): a certificate whose order failed is
//! not ordered again at the next timer tick but after a backoff kept in the lock bucket
//! (`acme/state/<name>.json` beside `acme/locks/` for the rig's `oss://alicert-state/acme/…`
//! account key); a config change or a target near expiry ends the wait, a success clears it,
//! and a CA's `rateLimited` answer with `Retry-After` is waited out.
mod support;

use std::time::Duration;

use serde_json::Value;
use support::rig::{Rig, AK_ID, AK_SECRET, BUCKET};
use support::scenario::Scenario;
use time::OffsetDateTime;

const STATE: &str = "acme/state/www.json";

fn state(rig: &Rig) -> Option<Value> {
    let objects = rig.emulator.state().oss_objects;
    let object = objects.get(&format!("{BUCKET}/{STATE}"))?;
    Some(serde_json::from_slice(&object.body).expect("the state object is JSON"))
}

fn add_record_calls(rig: &Rig) -> usize {
    rig.emulator.state().calls_to("AddDomainRecord").len()
}

/// The next AddDomainRecord is refused for a missing permission: not retryable, so the order
/// (and the run) fails.
fn fail_next_order(rig: &Rig) {
    rig.emulator
        .fail_next("AddDomainRecord", "Forbidden.RAM", 403);
}

fn unix(rfc3339: &str) -> i64 {
    OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .expect("an RFC 3339 time")
        .unix_timestamp()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_certificate_backs_off_until_its_config_changes() {
    let rig = Scenario::www_on_cdn().start().await;

    fail_next_order(&rig);
    let first = rig.invoke("{}").await;
    first.expect_exit(1);
    let failed = first.certificate("www");
    assert_eq!(failed.status, "failed", "{}", first.stdout);
    let s = state(&rig).expect("the failure is recorded");
    assert_eq!(s["schema"], 1);
    assert_eq!(s["failures"], 1);
    assert_eq!(s["last_error"]["code"], "Forbidden.RAM");
    let next = s["next_attempt"].as_i64().unwrap();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    assert!((now + 3500..=now + 3600).contains(&next), "one hour: {s}");

    // Second run: due, but inside the backoff — no order, no DNS write.
    let calls = add_record_calls(&rig);
    let second = rig.invoke("{}").await;
    second.expect_exit(1);
    let waiting = second.certificate("www");
    assert_eq!(waiting.status, "backing_off", "{}", second.stdout);
    assert_eq!(unix(waiting.next_attempt.as_deref().unwrap()), next);
    let reason = waiting.reason.as_deref().unwrap();
    assert!(
        reason.contains("1 consecutive failure") && reason.contains("Forbidden.RAM"),
        "{reason}"
    );
    assert_eq!(add_record_calls(&rig), calls, "no order while backing off");
    assert!(rig.emulator.state().cdn_cert("www.example.com").is_none());

    // A status run reports it too, and writes nothing.
    let status = rig.run(&["status"]).await;
    assert_eq!(status.certificate("www").status, "backing_off");

    // `force` overrides the backoff; this attempt fails again and doubles the wait.
    fail_next_order(&rig);
    let forced = rig.invoke(r#"{"force":true}"#).await;
    assert_eq!(forced.certificate("www").status, "failed");
    let s = state(&rig).unwrap();
    assert_eq!(s["failures"], 2);
    let now = OffsetDateTime::now_utc().unix_timestamp();
    assert!(
        s["next_attempt"].as_i64().unwrap() > now + 7000,
        "two hours: {s}"
    );

    // A changed certificate config is retried at once (and counts from one again on failure).
    rig.config_insert("[[certificate]]", "key_type = \"rsa-2048\"");
    let fixed = rig.invoke("{}").await;
    fixed.certificate_with("www", "issued");
    assert!(add_record_calls(&rig) > calls);
    assert!(state(&rig).is_none(), "a success clears the failure state");
    assert!(rig.emulator.state().cdn_cert("www.example.com").is_some());
}

/// A self-signed certificate for www.example.com with 19.5 of its 20 days gone (less than
/// 1/20 of its lifetime left), served by the CDN domain.
async fn serve_nearly_expired(rig: &Rig) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["www.example.com".to_string()]).unwrap();
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::from_secs(19 * 86400 + 43200);
    params.not_after = now + Duration::from_secs(43200);
    let cert = params.self_signed(&key).unwrap();
    rig.emulator
        .client(AK_ID, AK_SECRET, None)
        .rpc_with_form(
            alicert::aliyun::Product::Cdn,
            "SetCdnDomainSSLCertificate",
            &[
                ("DomainName", "www.example.com"),
                ("SSLProtocol", "on"),
                ("CertType", "upload"),
                ("CertName", "by-hand"),
            ],
            &[("SSLPub", &cert.pem()), ("SSLPri", &key.serialize_pem())],
        )
        .await
        .expect("the emulator takes an uploaded certificate");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_target_near_expiry_is_renewed_despite_the_backoff() {
    let rig = Scenario::www_on_cdn().start().await;
    fail_next_order(&rig);
    rig.invoke("{}").await.expect_exit(1);
    assert_eq!(state(&rig).unwrap()["failures"], 1);

    serve_nearly_expired(&rig).await;
    let calls = add_record_calls(&rig);
    let renewed = rig.invoke("{}").await;
    renewed.certificate_with("www", "renewed");
    assert!(
        add_record_calls(&rig) > calls,
        "ordered despite the backoff"
    );
    assert!(
        renewed.stderr.contains("within 1/20 of its lifetime"),
        "{}",
        renewed.stderr
    );
    assert!(state(&rig).is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_lock_bucket_nothing_is_remembered() {
    let rig = Scenario::www_on_cdn()
        .config("[lock]\nenabled = false")
        .start()
        .await;
    fail_next_order(&rig);
    rig.invoke("{}").await.expect_exit(1);
    assert!(state(&rig).is_none());
    rig.invoke("{}").await.certificate_with("www", "issued");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rate_limited_answer_is_waited_out_by_the_next_run() {
    let pebble = support::pebble::start().await;
    let front = support::ari_front::start(&pebble).await;
    let rig = Scenario::www_on_cdn().pebble(pebble).start().await;
    rig.set_acme("directory", &format!("\"{}\"", front.directory_url()));
    // Five hours: longer than the first backoff step, so waiting it out is visible.
    front.limit_orders(Some(5 * 3600));

    let first = rig.invoke("{}").await;
    first.expect_exit(1);
    let c = first.certificate("www");
    assert_eq!(c.status, "failed");
    let error = c.error.as_ref().unwrap();
    assert_eq!(error.code, "RateLimited", "{}", first.stdout);
    assert!(
        error.message.contains("retry after 20"),
        "{}",
        error.message
    );
    assert_eq!(front.state().orders_refused, 1, "one order per run");
    let s = state(&rig).unwrap();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let limited = s["rate_limited_until"].as_i64().unwrap();
    assert!(
        (now + 5 * 3600 - 60..=now + 5 * 3600).contains(&limited),
        "{s}"
    );
    assert_eq!(s["next_attempt"].as_i64(), Some(limited));

    // The CA would take orders again, but the next run respects the time it named.
    front.limit_orders(None);
    let second = rig.invoke("{}").await;
    let waiting = second.certificate("www");
    assert_eq!(waiting.status, "backing_off", "{}", second.stdout);
    assert_eq!(unix(waiting.next_attempt.as_deref().unwrap()), limited);
    assert!(waiting.reason.as_deref().unwrap().contains("rate limit"));
    assert_eq!(front.state().orders_refused, 1);
    assert!(rig.emulator.state().cdn_cert("www.example.com").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_failure_the_order_is_rehearsed_on_staging_first() {
    let pebble = support::pebble::start().await;
    // The "staging CA": the same Pebble behind the front, whose newOrder can be refused.
    let staging = support::ari_front::start(&pebble).await;
    let rig = Scenario::www_on_cdn().pebble(pebble).start().await;
    rig.set_acme("rehearse_on_staging", "true");
    rig.set_acme(
        "staging_directory",
        &format!("\"{}\"", staging.directory_url()),
    );

    // No failure yet: production is asked directly (and fails).
    fail_next_order(&rig);
    rig.invoke("{}").await.expect_exit(1);
    assert_eq!(add_record_calls(&rig), 1);

    // The next attempt rehearses first; staging refuses, so production is not asked.
    staging.limit_orders(Some(60));
    let refused = rig.invoke(r#"{"force":true}"#).await;
    let c = refused.certificate("www");
    assert_eq!(c.status, "failed");
    let message = &c.error.as_ref().unwrap().message;
    assert!(
        message.contains("rehearsal on the staging CA failed"),
        "{message}"
    );
    assert_eq!(staging.state().orders_refused, 1);
    assert_eq!(add_record_calls(&rig), 1, "production was not asked");
    assert_eq!(state(&rig).unwrap()["failures"], 2);

    // Staging takes the order: one proof for it, one for production, then the deploy.
    staging.limit_orders(None);
    let renewed = rig.invoke(r#"{"force":true}"#).await;
    let c = renewed.certificate_with("www", "issued");
    assert!(
        c.notes
            .iter()
            .any(|n| n.contains("rehearsed on the staging CA")),
        "{c:?}"
    );
    assert_eq!(add_record_calls(&rig), 3);
    assert!(state(&rig).is_none());
    assert!(rig.emulator.state().cdn_cert("www.example.com").is_some());
}
