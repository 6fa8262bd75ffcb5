//! dns-persist-01 (issue 15, part 1): `challenge = "dns-persist-01"` keeps one
//! `_validation-persist.<name>` TXT record (`<issuer>; accounturi=<account>` plus
//! `policy=wildcard` for wildcards), marked as alicert's, across renewals: a renewal whose
//! record is right makes no Alidns write; a new account rewrites it in place; a record alicert
//! did not create is never changed; a name the CA does not offer it for falls back to dns-01;
//! the record of a certificate removed from the config is deleted. Pebble 2.4 lacks the
//! challenge: the HTTPS front in support/persist_front.rs offers and validates it (by DNS
//! lookups against challtestsrv, where the emulator pushes Alidns' TXT records) and Pebble runs
//! with `PEBBLE_VA_ALWAYS_VALID=1` behind it.
mod support;

use support::emulator::{DnsRecord, Seed, SeedRecord, Zone};
use support::persist_front::{PersistFront, Proof, Validation, ISSUER};
use support::rig::Rig;
use support::scenario::{cas, cdn, Scenario};

const PERSIST: &str = "challenge = \"dns-persist-01\"";
/// What changes DNS in Alidns.
const WRITES: [&str; 5] = [
    "AddDomainRecord",
    "UpdateDomainRecord",
    "DeleteDomainRecord",
    "DeleteSubDomainRecords",
    "UpdateDomainRecordRemark",
];

fn txt(rr: &str, value: &str) -> SeedRecord {
    SeedRecord {
        rr: rr.into(),
        record_type: "TXT".into(),
        value: value.into(),
        ttl: None,
        remark: None,
    }
}

/// Zone example.com (with `records`) and the CDN domains.
fn seed(records: Vec<SeedRecord>, cdn_domains: &[&str]) -> Seed {
    let mut seed = Seed::default();
    for d in cdn_domains {
        seed = seed.cdn_domain(d);
    }
    seed.zones.push(Zone {
        name: "example.com".into(),
        dns_servers: vec![],
        records,
    });
    seed
}

async fn start(scenario: Scenario) -> (Rig, PersistFront) {
    let pebble = support::pebble::start_with(support::pebble::Options {
        always_valid: true,
        ..Default::default()
    })
    .await;
    let front = support::persist_front::start(&pebble).await;
    let rig = scenario.pebble(pebble).start().await;
    rig.set_acme("directory", &format!("\"{}\"", front.directory_url()));
    (rig, front)
}

async fn account_url(rig: &Rig) -> String {
    rig.run(&["account", "show"])
        .await
        .ok()
        .account()
        .url
        .clone()
}

fn persist_records(rig: &Rig) -> Vec<DnsRecord> {
    let mut v: Vec<DnsRecord> = rig
        .emulator
        .state()
        .records
        .into_iter()
        .filter(|r| r.record_type == "TXT" && r.rr.starts_with("_validation-persist"))
        .collect();
    v.sort_by(|a, b| a.rr.cmp(&b.rr));
    v
}

fn writes(rig: &Rig) -> usize {
    let state = rig.emulator.state();
    WRITES.iter().map(|a| state.calls_to(a).len()).sum()
}

fn challenge_records_added(rig: &Rig) -> Vec<String> {
    rig.emulator
        .state()
        .records_added
        .iter()
        .filter(|r| r.rr.starts_with("_acme-challenge"))
        .map(|r| r.rr.clone())
        .collect()
}

fn persist_validation(identifier: &str) -> Validation {
    Validation {
        identifier: identifier.into(),
        method: Proof::Persist,
    }
}

/// Drops the `[[certificate]]` table of `name` from the rig's config file.
fn remove_certificate(rig: &Rig, name: &str) {
    let text = std::fs::read_to_string(&rig.config_path).unwrap();
    let head = format!("[[certificate]]\nname = \"{name}\"\n");
    let start = text.find(&head).expect("certificate in config");
    let end = text[start + head.len()..]
        .find("[[certificate]]")
        .map_or(text.len(), |i| start + head.len() + i);
    let text = format!("{}{}", &text[..start], &text[end..]);
    std::fs::write(&rig.config_path, text).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn persist_issuance_then_a_renewal_that_writes_no_dns() {
    let scenario = Scenario::new()
        .seed(|_| seed(vec![], &["www.example.com"]))
        .certificate("www", &["www.example.com"])
        .option(PERSIST)
        .target(cdn("www.example.com"))
        .certificate("apex", &["example.com", "*.example.com"])
        .option(PERSIST)
        .target(cas());
    let (rig, front) = start(scenario).await;

    let run = rig.invoke("{}").await;
    let www = run.certificate_with("www", "issued");
    run.certificate_with("apex", "issued");
    let deployed = rig.emulator.state().cdn_cert("www.example.com").cloned();
    let deployed = deployed.expect("www.example.com serves a certificate");
    assert_eq!(
        alicert::cert::CertInfo::from_pem(&deployed.cert)
            .unwrap()
            .serial,
        www.serial()
    );
    let url = account_url(&rig).await;
    let records = persist_records(&rig);
    let values: Vec<(&str, &str)> = records
        .iter()
        .map(|r| (r.rr.as_str(), r.value.as_str()))
        .collect();
    let plain = format!("{ISSUER}; accounturi={url}");
    let wild = format!("{plain}; policy=wildcard");
    assert_eq!(
        values,
        [
            ("_validation-persist", wild.as_str()),
            ("_validation-persist.www", plain.as_str())
        ]
    );
    for (r, owner) in records.iter().zip(["apex", "www"]) {
        let remark = r.remark.as_deref().expect("marked");
        assert!(alicert::dns::sweep::is_remark_of(owner, remark), "{remark}");
    }
    let mut validated = front.state().validations;
    validated.sort_by(|a, b| a.identifier.cmp(&b.identifier));
    assert_eq!(
        validated,
        [
            persist_validation("*.example.com"),
            persist_validation("example.com"),
            persist_validation("www.example.com"),
        ]
    );
    assert!(challenge_records_added(&rig).is_empty());
    assert!(front.state().refusals.is_empty());

    // A forced renewal: Alidns is only read.
    let before = writes(&rig);
    let run = rig.invoke(r#"{"force":true}"#).await;
    let renewed = run.certificate_with("www", "renewed");
    run.certificate_with("apex", "renewed");
    assert_ne!(renewed.serial(), www.serial());
    assert_eq!(
        writes(&rig),
        before,
        "a renewal with its records in place writes no DNS"
    );
    assert_eq!(persist_records(&rig), records, "kept as they were");
    assert!(challenge_records_added(&rig).is_empty());
    assert_eq!(front.state().validations.len(), 6);
    assert!(front
        .state()
        .validations
        .iter()
        .all(|v| v.method == Proof::Persist));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_name_not_offered_dns_persist_falls_back_to_dns01() {
    let scenario = Scenario::new()
        .seed(|_| seed(vec![], &[]))
        .certificate("www", &["www.example.com", "api.example.com"])
        .option(PERSIST)
        .target(cas());
    let (rig, front) = start(scenario).await;
    front.dns01_only("api.example.com");

    let run = rig.invoke("{}").await;
    let c = run.certificate_with("www", "issued");
    assert!(
        c.notes.iter().any(
            |n| n.contains("no dns-persist-01 challenge for api.example.com")
                && n.contains("dns-01")
        ),
        "{:?}",
        c.notes
    );
    let mut validated = front.state().validations;
    validated.sort_by(|a, b| a.identifier.cmp(&b.identifier));
    assert_eq!(
        validated,
        [
            Validation {
                identifier: "api.example.com".into(),
                method: Proof::Dns01
            },
            persist_validation("www.example.com"),
        ]
    );
    let rrs: Vec<String> = persist_records(&rig).into_iter().map(|r| r.rr).collect();
    assert_eq!(rrs, ["_validation-persist.www"]);
    assert_eq!(challenge_records_added(&rig), ["_acme-challenge.api"]);
    assert!(
        !rig.emulator
            .state()
            .records
            .iter()
            .any(|r| r.rr.starts_with("_acme-challenge")),
        "the dns-01 record is deleted when the order ends"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_account_rewrites_the_record_in_place() {
    let scenario = Scenario::new()
        .seed(|_| seed(vec![], &["www.example.com"]))
        .certificate("www", &["www.example.com"])
        .option(PERSIST)
        .target(cdn("www.example.com"));
    let (rig, front) = start(scenario).await;
    rig.invoke("{}").await.certificate_with("www", "issued");
    let first = account_url(&rig).await;
    let before = persist_records(&rig);
    assert_eq!(before.len(), 1);

    // Another account key: a new ACME account, with a new URL.
    rig.set_acme("account_key", "\"oss://alicert-state/acme/second.pem\"");
    let updates = rig.emulator.state().calls_to("UpdateDomainRecord").len();
    let adds = rig.emulator.state().calls_to("AddDomainRecord").len();
    rig.invoke(r#"{"force":true}"#)
        .await
        .certificate_with("www", "renewed");
    let second = account_url(&rig).await;
    assert_ne!(first, second);
    let after = persist_records(&rig);
    assert_eq!(after.len(), 1, "not duplicated: {after:?}");
    assert_eq!(after[0].record_id, before[0].record_id);
    assert_eq!(after[0].value, format!("{ISSUER}; accounturi={second}"));
    assert_eq!(after[0].remark, before[0].remark);
    let state = rig.emulator.state();
    assert_eq!(state.calls_to("UpdateDomainRecord").len(), updates + 1);
    assert_eq!(state.calls_to("AddDomainRecord").len(), adds);
    assert_eq!(front.state().validations.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_foreign_record_for_another_account_is_left_alone_and_named() {
    let foreign = format!("{ISSUER}; accounturi=https://ca.example/acct/999");
    let scenario = Scenario::new()
        .seed(|_| {
            seed(
                vec![txt("_validation-persist.www", &foreign)],
                &["www.example.com"],
            )
        })
        .certificate("www", &["www.example.com"])
        .option(PERSIST)
        .target(cdn("www.example.com"));
    let (rig, front) = start(scenario).await;
    let before = persist_records(&rig);

    let run = rig.invoke("{}").await;
    run.expect_exit(1);
    let c = run.certificate("www");
    assert_eq!(c.status, "failed");
    let message = &c.error.as_ref().unwrap().message;
    assert!(
        message.contains(&format!("`{foreign}`"))
            && message.contains("_validation-persist.www.example.com")
            && message.contains("not created by alicert")
            && message.contains("challenge = \"dns-01\""),
        "{message}"
    );
    assert_eq!(persist_records(&rig), before, "untouched");
    assert_eq!(writes(&rig), 0, "nothing written");
    assert!(
        front.state().validations.is_empty(),
        "no challenge answered"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_record_of_a_removed_certificate_is_deleted() {
    let foreign = txt(
        "_validation-persist.shop",
        "pebble.test; accounturi=https://x/1",
    );
    let scenario = Scenario::new()
        .seed(|_| seed(vec![foreign], &["www.example.com", "old.example.com"]))
        .certificate("www", &["www.example.com"])
        .option(PERSIST)
        .target(cdn("www.example.com"))
        .certificate("old", &["old.example.com"])
        .option(PERSIST)
        .target(cdn("old.example.com"));
    let (rig, _front) = start(scenario).await;
    let run = rig.invoke("{}").await;
    run.certificate_with("www", "issued");
    run.certificate_with("old", "issued");
    let rrs =
        |rig: &Rig| -> Vec<String> { persist_records(rig).into_iter().map(|r| r.rr).collect() };
    assert_eq!(
        rrs(&rig),
        [
            "_validation-persist.old",
            "_validation-persist.shop",
            "_validation-persist.www"
        ]
    );

    // A run that orders nothing does not open the account, so it cannot tell this
    // deployment's records and leaves them.
    remove_certificate(&rig, "old");
    rig.invoke("{}").await.certificate_with("www", "up_to_date");
    assert_eq!(rrs(&rig).len(), 3);

    rig.invoke(r#"{"force":true}"#)
        .await
        .certificate_with("www", "renewed");
    assert_eq!(
        rrs(&rig),
        ["_validation-persist.shop", "_validation-persist.www"],
        "old's record deleted; the foreign one and www's kept"
    );
    let deleted = rig.emulator.state().records_deleted;
    let deleted: Vec<&str> = deleted
        .iter()
        .filter(|r| r.rr.starts_with("_validation-persist"))
        .map(|r| r.rr.as_str())
        .collect();
    assert_eq!(deleted, ["_validation-persist.old"]);
}
