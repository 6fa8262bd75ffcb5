//! One run at a time per certificate: concurrent `alicert invoke` processes never both order the
//! same certificate (OSS lock objects created with `x-oss-forbid-overwrite`), while different
//! certificates proceed in parallel; and the take-over of an expired lock is race-safe.
mod support;
use support::scenario::Scenario;

use std::sync::Arc;

use alicert::aliyun::AliyunClient;
use alicert::lock::{Acquire, LockLocation, Locks};
use support::emulator::{self, Faults, Seed};
use support::rig::{AK_ID, AK_SECRET, BUCKET};

fn cdn_deploys(state: &emulator::EmulatorState, domain: &str) -> usize {
    state
        .calls_to("SetCdnDomainSSLCertificate")
        .iter()
        .filter(|c| {
            c.code.is_none() && c.params.get("DomainName").map(String::as_str) == Some(domain)
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_simultaneous_runs_deploy_exactly_one_certificate() {
    let rig = Scenario::www_and("other").start().await;
    let event = r#"{"certificates":["www"]}"#;
    let a = rig.spawn_invoke(event, &[]);
    let b = rig.spawn_invoke(event, &[]);
    let (a, b) = (a.finish().await, b.finish().await);
    a.expect_exit(0);
    b.expect_exit(0);
    let mut outcomes = vec![
        a.certificate("www").status.clone(),
        b.certificate("www").status.clone(),
    ];
    outcomes.sort();
    // One issued; the other either found the lock taken (skipped) or, having taken it after the
    // first run released it, read the fresh certificate (up_to_date).
    assert!(
        outcomes == ["issued", "skipped"] || outcomes == ["issued", "up_to_date"],
        "{outcomes:?}"
    );
    let state = rig.emulator.state();
    assert_eq!(state.cas_certs.len(), 1, "exactly one upload");
    assert_eq!(
        cdn_deploys(&state, "www.example.com"),
        1,
        "exactly one CDN deploy"
    );
    assert_eq!(state.records_added.len(), 1, "exactly one order");
    assert!(state.txt_records().is_empty());
    assert!(state.object(BUCKET, "acme/locks/www.lock").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_certificate_is_skipped_while_others_proceed() {
    let rig = Scenario::www_and("other").start().await;
    // One certificate at a time, so A holds only www's lock while it is paused (concurrent
    // certificates within one run are covered by tests/scale.rs).
    rig.set_acme("max_concurrent_orders", "1");
    // A (the timer) holds www's lock, paused with its TXT record in place.
    let mut a = rig.spawn_invoke(
        "{}",
        &[
            ("ALICERT_TEST_PAUSE_AT", "txt_created"),
            ("ALICERT_TEST_PAUSE_SECS", "5"),
        ],
    );
    a.wait_for_line("ALICERT_TEST_PAUSED_AT=txt_created", 60)
        .await;
    // B (a manual run) meanwhile: www is skipped, not failed; other is issued in parallel.
    let b = rig.invoke("{}").await;
    b.expect_exit(0);
    assert!(b.result.ok);
    assert_eq!(b.certificate("www").status, "skipped", "{}", b.stdout);
    let www_b = &b.result.certificates[0];
    assert!(www_b.reason().contains("locked"), "{www_b:?}");
    assert!(www_b.error.is_none());
    assert_eq!(b.certificate("other").status, "issued", "{}", b.stdout);
    // A goes on: www issued; other was deployed by B in the meantime (or, on a very slow
    // machine, B still held its lock when A got there).
    let a = a.finish().await;
    a.expect_exit(0);
    assert_eq!(a.certificate("www").status, "issued", "{}", a.stdout);
    let other_a = &a.certificate("other").status;
    assert!(
        other_a == "up_to_date" || other_a == "skipped",
        "{}",
        a.stdout
    );
    let state = rig.emulator.state();
    assert_eq!(cdn_deploys(&state, "www.example.com"), 1);
    assert_eq!(cdn_deploys(&state, "other.example.com"), 1);
    // One CAS copy per certificate: the CDN targets take the hub's CAS id.
    assert_eq!(state.cas_certs.len(), 2);
    assert!(state.txt_records().is_empty());
}

fn client(emu: &emulator::Emulator) -> AliyunClient {
    emu.client(AK_ID, AK_SECRET, None)
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_take_overs_of_an_expired_lock_have_one_winner() {
    let emu = emulator::start(Seed::default().access_key(AK_ID, AK_SECRET).bucket(BUCKET)).await;
    for round in 0..5 {
        // A lock left by a run that died long ago.
        let stale = serde_json::json!({"owner": format!("dead-{round}"), "certificate": "www",
            "acquired": now() - 100, "expires": now() - 10});
        emu.put_object(BUCKET, "locks/www.lock", stale.to_string().as_bytes());
        let tasks: Vec<_> = (0..6)
            .map(|i| {
                let locks = Arc::new(Locks::new(
                    client(&emu),
                    locks_at(),
                    format!("run-{round}-{i}"),
                ));
                tokio::spawn(async move {
                    let got = locks.acquire("www", now() + 60).await.unwrap();
                    (locks, got)
                })
            })
            .collect();
        let mut winners = Vec::new();
        for t in tasks {
            let (locks, got) = t.await.unwrap();
            if let Acquire::Held(h) = got {
                winners.push((locks, h));
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: exactly one winner");
        let (locks, held) = winners.pop().unwrap();
        let body = emu
            .state()
            .object(BUCKET, "locks/www.lock")
            .unwrap()
            .text()
            .unwrap()
            .to_string();
        assert!(body.contains(locks.owner()), "{body}");
        locks.release(held).await.unwrap();
        assert!(emu.state().object(BUCKET, "locks/www.lock").is_none());
    }
    // A live lock is never taken over.
    let live = serde_json::json!({"owner": "alive", "certificate": "www", "acquired": now(), "expires": now() + 600});
    emu.put_object(BUCKET, "locks/www.lock", live.to_string().as_bytes());
    let locks = Locks::new(client(&emu), locks_at(), "late".into());
    match locks.acquire("www", now() + 60).await.unwrap() {
        Acquire::Busy { owner, .. } => assert_eq!(owner, "alive"),
        Acquire::Held(_) => panic!("took a live lock"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locks_survive_dropped_connections() {
    // A third of the requests take effect but lose their answer: a retried create-only PUT then finds
    // its own lock, and must recognise it as its own.
    let faults = Faults {
        seed: 3,
        drop: 0.3,
        ..Faults::default()
    };
    let emu = emulator::start(
        Seed::default()
            .access_key(AK_ID, AK_SECRET)
            .bucket(BUCKET)
            .faults(faults),
    )
    .await;
    let retry = alicert::aliyun::client::RetryPolicy {
        base_delay: std::time::Duration::from_millis(5),
        max_delay: std::time::Duration::from_millis(20),
        ..Default::default()
    };
    for i in 0..10 {
        let locks = Locks::new(
            client(&emu).with_retry(retry),
            locks_at(),
            format!("run-{i}"),
        );
        match locks.acquire("www", now() + 60).await.unwrap() {
            Acquire::Held(h) => locks.release(h).await.unwrap(),
            Acquire::Busy { owner, .. } => panic!("run {i}: busy with {owner}"),
        }
        assert!(
            emu.state().object(BUCKET, "locks/www.lock").is_none(),
            "run {i}"
        );
    }
    assert!(emu.state().faults.dropped > 3);
}

/// The lock objects under `locks/` in the rig's bucket (default region).
fn locks_at() -> LockLocation {
    LockLocation {
        bucket: alicert::ident::BucketName::parse(BUCKET).unwrap(),
        region: None,
        prefix: "locks/".into(),
    }
}
