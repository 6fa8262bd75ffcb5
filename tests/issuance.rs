//! End to end through the real binary: Pebble issues, the emulator plays Alibaba Cloud.
mod support;
use support::scenario::{apigateway, cas, cdn, Scenario, Target};

use support::emulator::Seed;
use support::rig::BUCKET;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_name_to_cas_cdn_apigateway_then_second_run_is_a_no_op() {
    let rig = Scenario::new()
        .seed(|s| {
            s.zone("example.com")
                .cdn_domain("www.example.com")
                .apigateway_domain("grp1", "www.example.com")
        })
        .certificate("www", &["www.example.com"])
        .target(cas())
        .target(cdn("www.example.com"))
        .target(apigateway("grp1", "www.example.com"))
        .start()
        .await;
    let first = rig.invoke("{}").await;
    let c = first.certificate_with("www", "issued");
    assert_eq!(c.target_statuses(), ["deployed", "deployed", "deployed"]);
    let serial = c.serial().to_string();
    assert!(!serial.is_empty() && !serial.starts_with('0'));
    assert!(c.not_after().ends_with('Z'));

    let state = rig.emulator.state();
    // Every target holds the new certificate, and the emulator parsed the same serial.
    assert_eq!(
        state.cdn_cert("www.example.com").unwrap().info.serial_no,
        serial
    );
    assert_eq!(
        state
            .apigateway_cert("grp1", "www.example.com")
            .unwrap()
            .info
            .serial_no,
        serial
    );
    assert_eq!(state.cas_certs.len(), 1);
    assert_eq!(state.cas_certs[0].info.serial_no, serial);
    assert!(state.cas_certs[0].name.starts_with("alicert-www-"));
    // The certificate key went with it, and matches nowhere in the output.
    let key = &state.cdn_cert("www.example.com").unwrap().key;
    assert!(key.contains("PRIVATE KEY"));
    assert!(!first.stdout.contains(key.trim()) && !first.stderr.contains(key.trim()));
    // DNS-01: one TXT record created, then deleted by its RecordId; nothing left.
    assert_eq!(state.records_added.len(), 1);
    assert_eq!(state.records_added[0].rr, "_acme-challenge.www");
    assert_eq!(state.records_deleted.len(), 1);
    assert_eq!(
        state.records_deleted[0].record_id,
        state.records_added[0].record_id
    );
    assert!(state.txt_records().is_empty());
    // The account key was created race-safely in OSS.
    let key_obj = state
        .object(BUCKET, "acme/account.pem")
        .expect("account key stored");
    assert!(key_obj.text().unwrap().contains("BEGIN PRIVATE KEY"));
    let key_puts = |s: &support::emulator::EmulatorState| {
        s.calls_to("PutObject")
            .into_iter()
            .filter(|c| c.params["key"] == "acme/account.pem")
            .count()
    };
    assert_eq!(key_puts(&state), 1);
    // The certificate's lock (beside the account key) was taken and released.
    assert!(state
        .calls_to("PutObject")
        .iter()
        .any(|c| c.params["key"] == "acme/locks/www.lock"));
    assert!(state.object(BUCKET, "acme/locks/www.lock").is_none());

    // Second run: everything up to date, no order, no DNS change, the same key reused.
    let second = rig.invoke("{}").await;
    let c2 = second.certificate_with("www", "up_to_date");
    assert_eq!(c2.serial(), serial.as_str());
    assert_eq!(
        c2.target_statuses(),
        ["up_to_date", "up_to_date", "up_to_date"]
    );
    let state2 = rig.emulator.state();
    assert_eq!(state2.records_added.len(), 1, "no new TXT record");
    assert_eq!(state2.cas_certs.len(), 1, "no new upload");
    assert_eq!(key_puts(&state2), 1, "account key not recreated");
    assert_eq!(
        state2.object(BUCKET, "acme/account.pem").unwrap().text(),
        key_obj.text()
    );

    // status and dry_run change nothing; forcing a dry run reports would_renew.
    let forced_dry = rig.invoke(r#"{"force":true,"dry_run":true}"#).await;
    assert_eq!(forced_dry.certificate("www").status, "would_renew");
    assert_eq!(
        forced_dry.certificate("www").target_statuses(),
        ["would_deploy"; 3]
    );
    let status = rig.invoke(r#"{"action":"status"}"#).await;
    assert_eq!(status.certificate("www").status, "up_to_date");
    assert_eq!(rig.emulator.state().records_added.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apex_and_wildcard_in_a_com_cn_zone_with_a_kms_account_key() {
    let rig = Scenario::new()
        .account_key("kms:alicert/account")
        .seed(|s| {
            s.zone("com.cn")
                .zone("example.com.cn")
                .cdn_domain("example.com.cn")
        })
        .certificate("apex", &["example.com.cn", "*.example.com.cn"])
        .option(r#"key_type = "ec-p384""#)
        .target(cdn("example.com.cn"))
        .start()
        .await;
    let run = rig.invoke("{}").await;
    run.expect_exit(0);
    let c = run.certificate("apex");
    assert_eq!(c.status, "issued");

    let state = rig.emulator.state();
    let deployed = state.cdn_cert("example.com.cn").unwrap();
    let mut sans = deployed.info.sans.clone();
    sans.sort();
    assert_eq!(sans, ["*.example.com.cn", "example.com.cn"]);
    // Two values at one name, in the longest matching zone, both present at once.
    assert_eq!(state.records_added.len(), 2);
    for r in &state.records_added {
        assert_eq!(r.domain_name, "example.com.cn");
        assert_eq!(r.rr, "_acme-challenge");
    }
    assert_ne!(state.records_added[0].value, state.records_added[1].value);
    let order: Vec<&str> = state
        .calls
        .iter()
        .filter(|c| c.action == "AddDomainRecord" || c.action == "DeleteDomainRecord")
        .map(|c| c.action.as_str())
        .collect();
    assert_eq!(
        order,
        [
            "AddDomainRecord",
            "AddDomainRecord",
            "DeleteDomainRecord",
            "DeleteDomainRecord"
        ]
    );
    assert!(state.txt_records().is_empty());
    // The account key lives in KMS, created once; the second run reads it back.
    assert!(state
        .secret_value("alicert/account")
        .unwrap()
        .contains("PRIVATE KEY"));
    assert_eq!(state.calls_to("CreateSecret").len(), 1);
    let again = rig.invoke(r#"{"force":true}"#).await;
    assert_eq!(
        again.certificate("apex").status,
        "renewed",
        "{}",
        again.stderr
    );
    let state = rig.emulator.state();
    assert_eq!(state.calls_to("CreateSecret").len(), 1);
    assert!(state.calls_to("GetSecretValue").len() >= 2);
    assert_ne!(
        state.cdn_cert("example.com.cn").unwrap().info.serial_no,
        c.serial()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delegated_sub_zone_is_chosen_over_its_parent() {
    let rig = Scenario::new()
        .seed(|s| {
            s.zone("example.com")
                .zone("dev.example.com")
                .apigateway_domain("g", "api.dev.example.com")
        })
        .certificate("api", &["api.dev.example.com"])
        .option(r#"key_type = "rsa-2048""#)
        .target(apigateway("g", "api.dev.example.com"))
        .start()
        .await;
    let run = rig.invoke("{}").await;
    run.expect_exit(0);
    let state = rig.emulator.state();
    assert_eq!(state.records_added.len(), 1);
    assert_eq!(state.records_added[0].domain_name, "dev.example.com");
    assert_eq!(state.records_added[0].rr, "_acme-challenge.api");
    let deployed = state.apigateway_cert("g", "api.dev.example.com").unwrap();
    assert!(deployed.key.contains("PRIVATE KEY"));
    assert!(state.txt_records().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invisible_txt_record_fails_clearly_and_is_still_deleted() {
    // The emulator does not publish TXT records to the DNS Pebble and alicert look at, so the
    // propagation check times out: a clear error, nothing deployed, the record deleted.
    let rig = Scenario::www_on_cdn().start().await;
    let text = std::fs::read_to_string(&rig.config_path).unwrap().replace(
        "propagation_timeout_secs = 20",
        "propagation_timeout_secs = 2",
    );
    std::fs::write(&rig.config_path, text).unwrap();
    rig.emulator.set_challtestsrv(None);
    let run = rig.invoke("{}").await;
    run.expect_exit(1);
    let c = run.certificate("www");
    assert_eq!(c.status, "failed");
    let message = c.error().message.as_str();
    assert!(message.contains("not visible"), "{message}");
    assert!(
        message.contains("_acme-challenge.www.example.com"),
        "{message}"
    );
    assert_nothing_left(&rig, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_validation_reports_the_ca_error_and_deletes_the_records() {
    // Pebble validates against a DNS server that never sees the record (a split view), while
    // alicert's propagation check sees it: the CA rejects the challenge.
    let pebble = support::pebble::start_with_separate_validation_dns().await;
    let rig = Scenario::new()
        .seed(|s| s.zone("example.com").cdn_domain("www.example.com"))
        .certificate("www", &["www.example.com", "*.example.com"])
        .target(cdn("www.example.com"))
        .pebble(pebble)
        .start()
        .await;
    let run = rig.invoke("{}").await;
    run.expect_exit(1);
    let c = run.certificate("www");
    assert_eq!(c.status, "failed");
    let message = c.error().message.as_str();
    assert!(message.contains("urn:ietf:params:acme:error"), "{message}");
    assert_nothing_left(&rig, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_config_and_bad_event_exit_2_before_any_call() {
    let rig = Scenario::new()
        .seed(|s| s.zone("example.com").cdn_domain("www.example.com"))
        .certificate("www", &["www.example.com"])
        .target(Target::toml(
            r#"{ kind = "cdn", domian = "www.example.com" }"#,
        ))
        .start()
        .await;
    let run = rig.invoke("{}").await;
    run.expect_exit(2);
    assert!(
        run.stderr.contains("domian") && run.stderr.contains("alicert.toml"),
        "{}",
        run.stderr
    );
    let run = rig.invoke(r#"{"action":"renw"}"#).await;
    run.expect_exit(2);
    assert!(run.stderr.contains("renw"), "{}", run.stderr);
    assert!(rig.emulator.state().calls.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_is_retried_a_caller_error_is_not_and_the_next_run_finishes_the_job() {
    let rig = Scenario::new()
        .seed(|s| {
            s.zone("example.com")
                .cdn_domain("www.example.com")
                .apigateway_domain("g", "www.example.com")
        })
        .certificate("www", &["www.example.com"])
        .target(cdn("www.example.com"))
        .target(apigateway("g", "www.example.com"))
        .start()
        .await;
    rig.emulator
        .fail_next("AddDomainRecord", "Throttling.User", 400);
    rig.emulator
        .fail_next("AddDomainRecord", "ServiceUnavailable", 503);
    rig.emulator.fail_next(
        "SetDomainCertificate",
        "InvalidParameter.CertificateBody",
        400,
    );
    let first = rig.invoke("{}").await;
    first.expect_exit(1);
    assert!(!first.result.ok);
    let c = first.certificate("www");
    assert_eq!(c.status, "failed");
    assert_eq!(c.target_statuses(), ["deployed", "failed"]);
    let failed = &c.target(1);
    assert_eq!(failed.error().code, "InvalidParameter.CertificateBody");
    let request_id = failed.error().request_id.as_deref().unwrap();
    let state = rig.emulator.state();
    // The throttled and unavailable attempts were retried (3 calls, 1 record); the caller's
    // error was not retried (1 call) and carries Alibaba's RequestId.
    assert_eq!(state.calls_to("AddDomainRecord").len(), 3);
    assert_eq!(state.records_added.len(), 1);
    let set = state.calls_to("SetDomainCertificate");
    assert_eq!(set.len(), 1);
    assert_eq!(set[0].request_id, request_id);
    assert!(state.txt_records().is_empty());
    let cdn_serial = state
        .cdn_cert("www.example.com")
        .unwrap()
        .info
        .serial_no
        .clone();

    // The next run orders again only because the API Gateway still lacks a certificate, and
    // deploys only there; the CDN keeps its certificate.
    let second = rig.invoke("{}").await;
    second.expect_exit(0);
    let c = second.certificate("www");
    assert_eq!(c.status, "renewed");
    assert_eq!(c.target_statuses(), ["up_to_date", "deployed"]);
    let state = rig.emulator.state();
    assert_eq!(
        state.cdn_cert("www.example.com").unwrap().info.serial_no,
        cdn_serial
    );
    assert_eq!(
        state
            .apigateway_cert("g", "www.example.com")
            .unwrap()
            .info
            .serial_no,
        c.serial()
    );
    let third = rig.invoke("{}").await;
    assert_eq!(third.certificate("www").status, "up_to_date");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn txt_records_alicert_did_not_create_are_never_touched() {
    use support::emulator::{SeedRecord, Zone};
    let mut seed = Seed::default().cdn_domain("www.example.com");
    seed.zones.push(Zone {
        name: "example.com".into(),
        records: vec![
            SeedRecord {
                rr: "_acme-challenge.www".into(),
                record_type: "TXT".into(),
                value: "placed-by-someone-else".into(),
                ..SeedRecord::default()
            },
            SeedRecord {
                rr: "@".into(),
                record_type: "TXT".into(),
                value: "v=spf1 -all".into(),
                ..SeedRecord::default()
            },
        ],
        ..Zone::default()
    });
    let rig = Scenario::new()
        .seed(|_| seed)
        .certificate("www", &["www.example.com"])
        .target(cdn("www.example.com"))
        .start()
        .await;
    let run = rig.invoke("{}").await;
    run.expect_exit(0);
    let state = rig.emulator.state();
    assert_eq!(rig.txt_values(), ["placed-by-someone-else", "v=spf1 -all"]);
    assert_eq!(state.records_deleted.len(), 1);
    assert_eq!(
        state.records_deleted[0].record_id,
        state.records_added[0].record_id
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_runs_agree_on_one_account_key() {
    let rig = Scenario::www_on_cdn().start().await;
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let mut cmd = rig.command();
            cmd.args(["account", "create"]);
            // Spawned now, so the four processes really run at the same time.
            tokio::spawn(support::rig::run(cmd))
        })
        .collect();
    let mut thumbprints = Vec::new();
    let mut accounts = Vec::new();
    for run in runs {
        let run = run.await.unwrap();
        run.expect_exit(0);
        let account = &run.result.account();
        thumbprints.push(account.key_thumbprint.clone());
        accounts.push(account.url.clone());
    }
    thumbprints.dedup();
    accounts.dedup();
    assert_eq!(thumbprints.len(), 1, "{thumbprints:?}");
    assert_eq!(accounts.len(), 1, "{accounts:?}");
    let state = rig.emulator.state();
    let created = state
        .calls_to("PutObject")
        .iter()
        .filter(|c| c.code.is_none())
        .count();
    assert_eq!(created, 1, "exactly one create-only PUT succeeded");
    eprintln!(
        "create-only PUTs: {} attempted, {created} succeeded",
        state.calls_to("PutObject").len()
    );

    // `account show` reads the same account and never creates anything.
    let mut cmd = rig.command();
    cmd.args(["account", "show"]);
    let show = support::rig::run(cmd).await;
    show.expect_exit(0);
    assert_eq!(show.result.account().url, accounts[0].as_str());
    assert_eq!(
        show.result.account().key_thumbprint,
        thumbprints[0].as_str()
    );
    assert!(!show.stdout.contains("PRIVATE KEY"));
}

/// A failed order: its `records` TXT records were created and deleted again, none is left,
/// and nothing reached the CDN.
fn assert_nothing_left(rig: &support::rig::Rig, records: usize) {
    let state = rig.emulator.state();
    assert_eq!(state.records_added.len(), records);
    assert_eq!(state.records_deleted.len(), records);
    assert!(state.txt_records().is_empty());
    assert!(state.cdn_cert("www.example.com").is_none());
}
