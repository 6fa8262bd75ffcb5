//! Crash safety: `alicert invoke` is SIGKILLed at three points of an order (the
//! `ALICERT_TEST_PAUSE_AT` debug hook stops it there), then run again. The rerun must complete,
//! every target must end up serving a valid certificate for the domains, no TXT record alicert
//! created may remain (the crashed run's marked records are swept once older than the grace
//! period), and records alicert did not create must survive.
mod support;
use support::scenario::Scenario;

use std::time::Duration;

use support::emulator::{Seed, SeedRecord, Zone};
use support::rig::BUCKET;

const CONFIG: &str = r#"
[lock]
# Long enough that the crashed run's lock is certainly still live when the test checks it
# (the check never skips), short enough to wait out before the rerun.
ttl_secs = 20

[[certificate]]
name = "www"
domains = ["www.example.com"]
targets = [{ kind = "cas" }, { kind = "cdn", domain = "www.example.com" }]
"#;

fn seed() -> Seed {
    let foreign = |value: &str, remark: Option<&str>| SeedRecord {
        rr: "_acme-challenge.www".into(),
        record_type: "TXT".into(),
        value: value.into(),
        ttl: None,
        remark: remark.map(str::to_string),
    };
    let mut seed = Seed::default().cdn_domain("www.example.com");
    seed.zones.push(Zone {
        name: "example.com".into(),
        dns_servers: vec![],
        records: vec![
            // Not alicert's: no remark, and someone else's remark. Never to be deleted.
            foreign("left-by-hand", None),
            foreign("certbot-value", Some("certbot")),
        ],
    });
    seed
}

async fn crash_and_rerun(point: &str) {
    let rig = Scenario::from_toml(seed(), CONFIG).start().await;
    rig.config_insert("[dns]", "sweep_grace_secs = 1");
    let mut victim = rig.spawn_invoke("{}", &[("ALICERT_TEST_PAUSE_AT", point)]);
    victim
        .wait_for_line(&format!("ALICERT_TEST_PAUSED_AT={point}"), 60)
        .await;
    victim.kill();

    let crashed = rig.emulator.state();
    let ours: Vec<_> = crashed
        .txt_records()
        .into_iter()
        .filter(|r| {
            r.remark
                .as_deref()
                .is_some_and(|m| alicert::dns::sweep::is_remark_of("www", m))
        })
        .map(|r| r.record_id.clone())
        .collect();
    match point {
        "txt_created" | "finalized" => {
            assert_eq!(
                ours.len(),
                1,
                "{point}: marked TXT record left by the crash"
            );
            assert!(crashed.cdn_cert("www.example.com").is_none());
            assert!(crashed.cas_certs.is_empty());
        }
        "cas_uploaded" => {
            assert!(
                ours.is_empty(),
                "records were deleted beside the upload, before deploying"
            );
            assert_eq!(crashed.cas_certs.len(), 1, "CAS got the new certificate");
            assert!(crashed.cdn_cert("www.example.com").is_none(), "CDN not yet");
        }
        _ => unreachable!(),
    }
    let lock = crashed
        .object(BUCKET, "acme/locks/www.lock")
        .expect("the crashed run still holds its lock");
    let lock: serde_json::Value = serde_json::from_slice(&lock.body).unwrap();
    let expires = lock["expires"].as_i64().unwrap();
    let now = || time::OffsetDateTime::now_utc().unix_timestamp();

    // Right away, the crashed run's lock is still valid: the certificate is skipped, not failed.
    // Never skipped: if the lock ran out first, the test fails and says why.
    let left = expires - now();
    assert!(
        left > 3,
        "{point}: the crashed run's lock expires in {left}s, too soon to check that it is \
         honoured; this machine took over {}s from taking the lock to the crash point \
         (raise [lock] ttl_secs in tests/crash.rs)",
        20 - left
    );
    let early = rig.invoke("{}").await;
    assert!(
        now() < expires,
        "{point}: the lock expired while the early run was running; its result proves nothing \
         (raise [lock] ttl_secs in tests/crash.rs)"
    );
    early.expect_exit(0);
    let c = &early.result.certificates[0];
    assert_eq!(c.status, "skipped", "{c:?}");
    assert!(c.reason().contains("locked"), "{c:?}");

    // Once the lock has expired and the records are past the grace period: the rerun completes.
    let wait = (expires + 1 - now()).max(2) as u64;
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let rerun = rig.invoke("{}").await;
    rerun.expect_exit(0);
    let c = &rerun.result.certificates[0];
    let want = if point == "cas_uploaded" {
        "renewed"
    } else {
        "issued"
    };
    assert_eq!(c.status, want, "{c:?}");
    assert!(
        rerun.stderr.contains("lock expired; taking it over"),
        "{}",
        rerun.stderr
    );

    let state = rig.emulator.state();
    // Consistent: every target serves a valid certificate for the domain.
    let cdn = state.cdn_cert("www.example.com").expect("CDN certificate");
    assert!(cdn.info.sans.contains(&"www.example.com".to_string()));
    let newest_cas = state
        .cas_certs
        .iter()
        .max_by_key(|c| c.info.not_after_ms)
        .unwrap();
    assert!(newest_cas
        .info
        .sans
        .contains(&"www.example.com".to_string()));
    // No TXT record alicert created remains; the crashed run's ones were swept by RecordId.
    let added: Vec<&str> = state
        .records_added
        .iter()
        .map(|r| r.record_id.as_str())
        .collect();
    let left: Vec<_> = state
        .txt_records()
        .into_iter()
        .filter(|r| added.contains(&r.record_id.as_str()))
        .collect();
    assert!(
        left.is_empty(),
        "{point}: alicert's TXT records left: {left:?}\nrerun stderr:\n{}",
        rerun.stderr
    );
    for id in &ours {
        assert!(state.records_deleted.iter().any(|r| &r.record_id == id));
    }
    if !ours.is_empty() {
        assert!(rerun
            .stderr
            .contains("sweeping a TXT record a crashed run left behind"));
    }
    // Records alicert did not create are untouched.
    assert_eq!(rig.txt_values(), ["certbot-value", "left-by-hand"]);
    assert!(state.object(BUCKET, "acme/locks/www.lock").is_none());

    // And the run after that has nothing to do.
    let after = rig.invoke("{}").await;
    assert_eq!(after.result.certificates[0].status, "up_to_date");
    assert_eq!(
        rig.emulator.state().records_added.len(),
        state.records_added.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_txt_records_were_created() {
    crash_and_rerun("txt_created").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_finalize() {
    crash_and_rerun("finalized").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_cas_upload_before_cdn_update() {
    // The targets deploy side by side once the copy is in CAS, so the crash point is the
    // upload itself (`cas_uploaded`), before any target was touched.
    crash_and_rerun("cas_uploaded").await;
}
