//! CAA account binding (issue 15, part 2): a CAA record that would not let the CA issue is
//! refused before ordering, naming the record; `caa = "manage"` keeps alicert's own
//! `issue`/`issuewild` record (CA, `accounturi`, `validationmethods`) at the name, marked,
//! rewrites it when it no longer matches, and never touches CAA records it did not create.
//! Pebble 2.4's directory lists no `caaIdentities`; the ACME front adds `pebble.test`. The
//! emulator serves Alidns' CAA records through pebble-challtestsrv, the rig's resolver.
mod support;

use support::emulator::{DnsRecord, Seed, SeedRecord, Zone};
use support::rig::{Rig, AK_ID, AK_SECRET};
use support::scenario::{cas, cdn, Scenario};

const CA: &str = "pebble.test";

fn caa(rr: &str, value: &str) -> SeedRecord {
    SeedRecord {
        rr: rr.into(),
        record_type: "CAA".into(),
        value: value.into(),
        ttl: None,
        remark: None,
    }
}

/// Zone example.com with foreign CAA records at its apex, and CDN domain www.example.com.
fn seed(apex: &[&str]) -> Seed {
    let mut seed = Seed::default().cdn_domain("www.example.com");
    seed.zones.push(Zone {
        name: "example.com".into(),
        dns_servers: vec![],
        records: apex.iter().map(|v| caa("@", v)).collect(),
    });
    seed
}

async fn start(scenario: Scenario) -> (Rig, support::ari_front::AriFront) {
    let pebble = support::pebble::start().await;
    let front = support::ari_front::start(&pebble).await;
    front.set_caa_identities(&[CA]);
    let rig = scenario.pebble(pebble).start().await;
    rig.set_acme("directory", &format!("\"{}\"", front.directory_url()));
    (rig, front)
}

fn caa_records(rig: &Rig) -> Vec<DnsRecord> {
    let state = rig.emulator.state();
    state
        .records
        .into_iter()
        .filter(|r| r.record_type == "CAA")
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_caa_record_for_another_ca_is_refused_before_ordering() {
    let scenario = Scenario::new()
        .seed(|_| seed(&["0 issue \"digicert.com\""]))
        .certificate("www", &["www.example.com"])
        .target(cdn("www.example.com"));
    let (rig, _front) = start(scenario).await;
    let run = rig.invoke("{}").await;
    run.expect_exit(1);
    let c = run.certificate("www");
    assert_eq!(c.status, "failed");
    let message = &c.error.as_ref().unwrap().message;
    assert!(
        message.contains("CAA forbids www.example.com: at example.com, `0 issue \"digicert.com\"`")
            && message.contains("caa = \"manage\""),
        "{message}"
    );
    let state = rig.emulator.state();
    assert!(
        state.calls_to("AddDomainRecord").is_empty(),
        "no DNS-01 proof was published: the order was never placed"
    );
    assert_eq!(
        caa_records(&rig).len(),
        1,
        "the foreign record is untouched"
    );

    // Allowing the CA at the apex lets the next (forced: the failure is remembered) run order.
    let id = caa_records(&rig)[0].record_id.clone();
    rig.emulator
        .client(AK_ID, AK_SECRET, None)
        .rpc(
            alicert::aliyun::Product::Alidns,
            "UpdateDomainRecord",
            &[
                ("RecordId", &id),
                ("RR", "@"),
                ("Type", "CAA"),
                ("Value", &format!("0 issue \"{CA}\"")),
            ],
        )
        .await
        .unwrap();
    rig.invoke(r#"{"force":true}"#)
        .await
        .certificate_with("www", "issued");
}

#[tokio::test(flavor = "multi_thread")]
async fn managed_caa_binds_the_account_and_leaves_foreign_records_alone() {
    let foreign = [
        "0 issue \"digicert.com\"",
        "0 iodef \"mailto:sec@example.com\"",
    ];
    let scenario = Scenario::new()
        .seed(|_| seed(&foreign))
        .certificate("apex", &["example.com", "*.example.com"])
        .option("caa = \"manage\"")
        .target(cas());
    let (rig, _front) = start(scenario).await;
    let before = caa_records(&rig);

    rig.invoke("{}").await.certificate_with("apex", "issued");
    let account = rig.run(&["account", "show"]).await;
    let url = account.ok().account().url.clone();
    let want = |tag: &str| format!("0 {tag} \"{CA}; accounturi={url}; validationmethods=dns-01\"");
    let after = caa_records(&rig);
    for r in &before {
        assert!(after.contains(r), "foreign record changed: {r:?}");
    }
    let ours: Vec<&DnsRecord> = after.iter().filter(|r| !before.contains(r)).collect();
    let mut values: Vec<&str> = ours.iter().map(|r| r.value.as_str()).collect();
    values.sort();
    assert_eq!(values, [want("issue"), want("issuewild")]);
    for r in &ours {
        assert_eq!(r.rr, "@");
        let remark = r.remark.as_deref().unwrap();
        assert!(
            alicert::dns::sweep::is_remark_of("apex", remark),
            "{remark}"
        );
    }

    // Someone points alicert's record at another account: the next run puts it back; a run
    // with nothing to change adds nothing.
    let issue = ours.iter().find(|r| r.value == want("issue")).unwrap();
    rig.emulator
        .client(AK_ID, AK_SECRET, None)
        .rpc(
            alicert::aliyun::Product::Alidns,
            "UpdateDomainRecord",
            &[
                ("RecordId", &issue.record_id),
                ("RR", "@"),
                ("Type", "CAA"),
                (
                    "Value",
                    &format!("0 issue \"{CA}; accounturi=https://other/acct/1\""),
                ),
            ],
        )
        .await
        .unwrap();
    let adds = |rig: &Rig| {
        rig.emulator
            .state()
            .calls_to("AddDomainRecord")
            .iter()
            .filter(|c| c.params.get("Type").map(String::as_str) == Some("CAA"))
            .count()
    };
    assert_eq!(adds(&rig), 2);
    rig.invoke(r#"{"force":true}"#)
        .await
        .certificate_with("apex", "renewed");
    let restored: Vec<String> = caa_records(&rig).into_iter().map(|r| r.value).collect();
    assert!(restored.contains(&want("issue")), "{restored:?}");
    assert!(!restored.iter().any(|v| v.contains("https://other")));
    assert_eq!(adds(&rig), 2, "rewritten, not added again");
    assert_eq!(caa_records(&rig).len(), foreign.len() + 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_emulator_refuses_a_malformed_caa_value() {
    let rig = Scenario::www_on_cdn().start().await;
    let client = rig.emulator.client(AK_ID, AK_SECRET, None);
    for value in [
        "issue \"a.com\"",
        "0 issue a.com",
        "0 tbs \"x\"",
        "300 issue \"a.com\"",
    ] {
        let e = client
            .rpc(
                alicert::aliyun::Product::Alidns,
                "AddDomainRecord",
                &[
                    ("DomainName", "example.com"),
                    ("RR", "@"),
                    ("Type", "CAA"),
                    ("Value", value),
                ],
            )
            .await
            .unwrap_err();
        assert!(
            e.to_string().contains("InvalidParameter.Value"),
            "{value}: {e}"
        );
    }
    assert!(caa_records(&rig).is_empty());
}
