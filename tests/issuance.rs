//! End to end through the real binary: Pebble issues, the emulator plays Alibaba Cloud.
mod support;

use serde_json::Value;
use support::emulator::Seed;
use support::rig::{alicert_bin, Rig, BUCKET};

const OSS_KEY: &str = "oss://alicert-state/acme/account.pem";

fn cert<'a>(result: &'a Value, name: &str) -> &'a Value {
    result["certificates"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no certificate {name} in {result}"))
}

fn target_statuses(c: &Value) -> Vec<String> {
    c["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_name_to_cas_cdn_apigateway_then_second_run_is_a_no_op() {
    let seed = Seed::default()
        .zone("example.com")
        .cdn_domain("www.example.com")
        .apigateway_domain("grp1", "www.example.com");
    let rig = Rig::start(
        seed,
        OSS_KEY,
        r#"
[[certificate]]
name = "www"
domains = ["www.example.com"]
targets = [
  { kind = "cas" },
  { kind = "cdn", domain = "www.example.com" },
  { kind = "apigateway", group_id = "grp1", domain = "www.example.com" },
]
"#,
    )
    .await;
    let bin = alicert_bin();

    let first = rig.invoke(&bin, "{}").await;
    assert_eq!(
        first.code, 0,
        "stdout {}\nstderr {}",
        first.stdout, first.stderr
    );
    let c = cert(&first.result, "www");
    assert_eq!(c["status"], "issued", "{}", first.result);
    assert_eq!(target_statuses(c), ["deployed", "deployed", "deployed"]);
    let serial = c["serial"].as_str().unwrap().to_string();
    assert!(!serial.is_empty() && !serial.starts_with('0'));
    assert!(c["not_after"].as_str().unwrap().ends_with('Z'));

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
    let second = rig.invoke(&bin, "{}").await;
    assert_eq!(second.code, 0, "{}", second.stderr);
    let c2 = cert(&second.result, "www");
    assert_eq!(c2["status"], "up_to_date", "{}", second.result);
    assert_eq!(c2["serial"], serial.as_str());
    assert_eq!(
        target_statuses(c2),
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
    let forced_dry = rig.invoke(&bin, r#"{"force":true,"dry_run":true}"#).await;
    assert_eq!(cert(&forced_dry.result, "www")["status"], "would_renew");
    assert_eq!(
        target_statuses(cert(&forced_dry.result, "www")),
        ["would_deploy"; 3]
    );
    let status = rig.invoke(&bin, r#"{"action":"status"}"#).await;
    assert_eq!(cert(&status.result, "www")["status"], "up_to_date");
    assert_eq!(rig.emulator.state().records_added.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apex_and_wildcard_in_a_com_cn_zone_with_a_kms_account_key() {
    let seed = Seed::default()
        .zone("com.cn")
        .zone("example.com.cn")
        .cdn_domain("example.com.cn");
    let rig = Rig::start(
        seed,
        "kms:alicert/account",
        r#"
[[certificate]]
name = "apex"
domains = ["example.com.cn", "*.example.com.cn"]
key_type = "ec-p384"
targets = [{ kind = "cdn", domain = "example.com.cn" }]
"#,
    )
    .await;
    let bin = alicert_bin();
    let run = rig.invoke(&bin, "{}").await;
    assert_eq!(run.code, 0, "stdout {}\nstderr {}", run.stdout, run.stderr);
    let c = cert(&run.result, "apex");
    assert_eq!(c["status"], "issued");

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
    let again = rig.invoke(&bin, r#"{"force":true}"#).await;
    assert_eq!(
        cert(&again.result, "apex")["status"],
        "renewed",
        "{}",
        again.stderr
    );
    let state = rig.emulator.state();
    assert_eq!(state.calls_to("CreateSecret").len(), 1);
    assert!(state.calls_to("GetSecretValue").len() >= 2);
    assert_ne!(
        state.cdn_cert("example.com.cn").unwrap().info.serial_no,
        c["serial"].as_str().unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delegated_sub_zone_is_chosen_over_its_parent() {
    let seed = Seed::default()
        .zone("example.com")
        .zone("dev.example.com")
        .apigateway_domain("g", "api.dev.example.com");
    let rig = Rig::start(
        seed,
        OSS_KEY,
        r#"
[[certificate]]
name = "api"
domains = ["api.dev.example.com"]
key_type = "rsa-2048"
targets = [{ kind = "apigateway", group_id = "g", domain = "api.dev.example.com" }]
"#,
    )
    .await;
    let run = rig.invoke(&alicert_bin(), "{}").await;
    assert_eq!(run.code, 0, "stdout {}\nstderr {}", run.stdout, run.stderr);
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
    let seed = Seed::default()
        .zone("example.com")
        .cdn_domain("www.example.com");
    let rig = Rig::start(
        seed,
        OSS_KEY,
        r#"
[[certificate]]
name = "www"
domains = ["www.example.com"]
targets = [{ kind = "cdn", domain = "www.example.com" }]
"#,
    )
    .await;
    let text = std::fs::read_to_string(&rig.config_path).unwrap().replace(
        "propagation_timeout_secs = 20",
        "propagation_timeout_secs = 2",
    );
    std::fs::write(&rig.config_path, text).unwrap();
    rig.emulator.set_challtestsrv(None);
    let run = rig.invoke(&alicert_bin(), "{}").await;
    assert_eq!(run.code, 1, "stdout {}\nstderr {}", run.stdout, run.stderr);
    let c = cert(&run.result, "www");
    assert_eq!(c["status"], "failed");
    let message = c["error"]["message"].as_str().unwrap();
    assert!(message.contains("not visible"), "{message}");
    assert!(
        message.contains("_acme-challenge.www.example.com"),
        "{message}"
    );
    let state = rig.emulator.state();
    assert_eq!(state.records_added.len(), 1);
    assert_eq!(state.records_deleted.len(), 1);
    assert!(state.txt_records().is_empty());
    assert!(state.cdn_cert("www.example.com").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_validation_reports_the_ca_error_and_deletes_the_records() {
    // Pebble validates against a DNS server that never sees the record (a split view), while
    // alicert's propagation check sees it: the CA rejects the challenge.
    let pebble = support::pebble::start_with_separate_validation_dns().await;
    let seed = Seed::default()
        .zone("example.com")
        .cdn_domain("www.example.com");
    let rig = Rig::with_pebble(
        pebble,
        seed,
        OSS_KEY,
        r#"
[[certificate]]
name = "www"
domains = ["www.example.com", "*.example.com"]
targets = [{ kind = "cdn", domain = "www.example.com" }]
"#,
    )
    .await;
    let run = rig.invoke(&alicert_bin(), "{}").await;
    assert_eq!(run.code, 1, "stdout {}\nstderr {}", run.stdout, run.stderr);
    let c = cert(&run.result, "www");
    assert_eq!(c["status"], "failed");
    let message = c["error"]["message"].as_str().unwrap();
    assert!(message.contains("urn:ietf:params:acme:error"), "{message}");
    let state = rig.emulator.state();
    assert_eq!(state.records_added.len(), 2);
    assert_eq!(state.records_deleted.len(), 2);
    assert!(state.txt_records().is_empty());
    assert!(state.cdn_cert("www.example.com").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_config_and_bad_event_exit_2_before_any_call() {
    let seed = Seed::default()
        .zone("example.com")
        .cdn_domain("www.example.com");
    let rig = Rig::start(
        seed,
        OSS_KEY,
        r#"
[[certificate]]
name = "www"
domains = ["www.example.com"]
targets = [{ kind = "cdn", domian = "www.example.com" }]
"#,
    )
    .await;
    let bin = alicert_bin();
    let run = rig.invoke(&bin, "{}").await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("domian") && run.stderr.contains("alicert.toml"),
        "{}",
        run.stderr
    );
    let run = rig.invoke(&bin, r#"{"action":"renw"}"#).await;
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("renw"), "{}", run.stderr);
    assert!(rig.emulator.state().calls.is_empty());
}
