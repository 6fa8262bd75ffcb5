//! CNAME-delegated challenges (issue 14, part 5): the domain's DNS lives elsewhere (no Alidns
//! zone holds example.com here) and `_acme-challenge.www.example.com` is a CNAME into a small
//! zone alicert may write. alicert follows the CNAME (bounded, loop-safe), writes the TXT record
//! at its end in whichever Alidns zone holds it, checks propagation there, and Pebble — whose
//! DNS (pebble-challtestsrv) answers TXT queries through the CNAME — validates. With
//! `challenge_alias` the record goes at the named alias without reading any CNAME.
mod support;

use serde_json::{json, Value};
use support::emulator::{SeedRecord, Zone};
use support::rig::Rig;
use support::scenario::{cdn, Scenario};

const DELEGATE: &str = "acme-delegate.net";
const TARGET: &str = "www-example-com.acme-delegate.net";

/// CDN domain www.example.com, Alidns zone acme-delegate.net only.
fn scenario() -> Scenario {
    Scenario::new()
        .seed(|s| s.zone(DELEGATE).cdn_domain("www.example.com"))
        .certificate("www", &["www.example.com"])
        .target(cdn("www.example.com"))
}

async fn challtestsrv(rig: &Rig, path: &str, body: Value) -> reqwest::Response {
    let rsp = reqwest::Client::new()
        .post(format!("{}{path}", rig.pebble.challtestsrv_url()))
        .json(&body)
        .send()
        .await
        .expect("challtestsrv");
    assert!(rsp.status().is_success(), "{path}: {}", rsp.status());
    rsp
}

async fn set_cname(rig: &Rig, host: &str, target: &str) {
    challtestsrv(rig, "/set-cname", json!({ "host": host, "target": target })).await;
}

/// Where the order's TXT records were written: (DomainName, RR) of every AddDomainRecord.
fn txt_writes(rig: &Rig) -> Vec<(String, String)> {
    rig.emulator
        .state()
        .calls_to("AddDomainRecord")
        .iter()
        .filter(|c| c.params.get("Type").map(String::as_str) == Some("TXT"))
        .map(|c| (c.params["DomainName"].clone(), c.params["RR"].clone()))
        .collect()
}

fn txt(rr: &str, value: &str, remark: Option<&str>) -> SeedRecord {
    SeedRecord {
        rr: rr.into(),
        record_type: "TXT".into(),
        value: value.into(),
        ttl: None,
        remark: remark.map(str::to_string),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cname_delegated_challenge_is_written_where_the_cname_points() {
    // At the delegated name: a crashed run's leftover (alicert's remark, long ago) and a record
    // someone else keeps there.
    let rig = Scenario::new()
        .seed(|mut s| {
            s.zones.push(Zone {
                name: DELEGATE.into(),
                dns_servers: vec![],
                records: vec![
                    txt(
                        "www-example-com",
                        "leftover",
                        Some("alicert_www_1000000000"),
                    ),
                    txt("www-example-com", "foreign", None),
                ],
            });
            s.cdn_domain("www.example.com")
        })
        .certificate("www", &["www.example.com"])
        .target(cdn("www.example.com"))
        .start()
        .await;
    set_cname(&rig, "_acme-challenge.www.example.com", TARGET).await;

    let run = rig.invoke("{}").await;
    run.certificate_with("www", "issued");
    assert_eq!(
        txt_writes(&rig),
        [(DELEGATE.to_string(), "www-example-com".to_string())],
        "one TXT record, in the delegate zone at the CNAME's target"
    );
    assert!(
        run.stderr
            .contains("challenge name is a CNAME; following it"),
        "{}",
        run.stderr
    );
    let state = rig.emulator.state();
    assert_eq!(
        state.calls_to("DeleteDomainRecord").len(),
        2,
        "the leftover is swept and the order's record deleted when the order ends"
    );
    let left: Vec<&str> = state
        .records
        .iter()
        .filter(|r| r.record_type == "TXT")
        .map(|r| r.value.as_str())
        .collect();
    assert_eq!(left, ["foreign"], "only the foreign record is left");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cname_loop_fails_before_anything_is_written() {
    let rig = scenario().start().await;
    set_cname(
        &rig,
        "_acme-challenge.www.example.com",
        "a.acme-delegate.net",
    )
    .await;
    set_cname(
        &rig,
        "a.acme-delegate.net",
        "_acme-challenge.www.example.com",
    )
    .await;

    let run = rig.invoke("{}").await;
    run.expect_exit(1);
    let c = run.certificate("www");
    assert_eq!(c.status, "failed");
    let message = &c.error.as_ref().unwrap().message;
    assert!(
        message.contains("the CNAME chain from _acme-challenge.www.example.com loops"),
        "{message}"
    );
    assert!(txt_writes(&rig).is_empty(), "nothing written");
}

#[tokio::test(flavor = "multi_thread")]
async fn challenge_alias_writes_at_the_alias_without_reading_the_cname() {
    let rig = scenario()
        .option(&format!("challenge_alias = \"{TARGET}\""))
        .start()
        .await;
    // The CA reads the CNAME; alicert must not need to.
    set_cname(&rig, "_acme-challenge.www.example.com", TARGET).await;
    challtestsrv(
        &rig,
        "/clear-request-history",
        json!({ "host": "_acme-challenge.www.example.com", "type": "dns" }),
    )
    .await;

    rig.invoke("{}").await.certificate_with("www", "issued");
    assert_eq!(
        txt_writes(&rig),
        [(DELEGATE.to_string(), "www-example-com".to_string())]
    );
    let history: Value = challtestsrv(
        &rig,
        "/dns-request-history",
        json!({ "host": "_acme-challenge.www.example.com" }),
    )
    .await
    .json()
    .await
    .unwrap();
    let of_type = |qtype: u16| {
        history
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["Question"]["Qtype"] == qtype)
            .count()
    };
    // The history does see this name: the CA's TXT lookups (type 16) through the CNAME.
    assert!(of_type(16) > 0, "no TXT lookup recorded: {history}");
    assert_eq!(of_type(5), 0, "alicert looked the CNAME up: {history}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wildcard_challenge_alias_is_refused_at_load() {
    let rig = scenario()
        .option("challenge_alias = \"*.acme-delegate.net\"")
        .start()
        .await;
    let run = rig.run(&["status"]).await;
    run.expect_exit(2);
    assert!(
        run.stderr
            .contains("challenge_alias: `*.acme-delegate.net` is a wildcard"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_checks_the_zone_the_challenge_cname_points_into() {
    let rig = scenario().start().await;
    let zone_checks = |run: &support::outcome::RunOutcome| -> Vec<Value> {
        let checks = run.json["doctor"]["checks"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        checks.into_iter().filter(|c| c["area"] == "zone").collect()
    };
    // No CNAME yet: example.com is in no Alidns zone of this account, and nothing delegates it.
    let before = zone_checks(&rig.run(&["doctor", "--json"]).await);
    assert_eq!(before.len(), 1, "{before:?}");
    assert_eq!(before[0]["subject"], "www.example.com");
    assert_ne!(before[0]["status"], "ok", "{before:?}");

    set_cname(&rig, "_acme-challenge.www.example.com", TARGET).await;
    let after = zone_checks(&rig.run(&["doctor", "--json"]).await);
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(after[0]["subject"], DELEGATE);
    assert_eq!(after[0]["status"], "ok", "{after:?}");
    let detail = after[0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("_acme-challenge.www.example.com") && detail.contains(TARGET),
        "{detail}"
    );
}
