//! The emulator's Alidns rules, each shown rejecting what alicert used to send (a remark with
//! `:`, PageSize 500 on DescribeSubDomainRecords, ...), and alicert's Alidns provider paging
//! through more zones and records than one page holds.
mod support;

use std::time::Duration;

use alicert::aliyun::{AliyunClient, Product};
use alicert::dns::alidns::Alidns;
use alicert::dns::sweep;
use alicert::dns::DnsProvider;
use alicert::error::Error;
use serde_json::Value;
use support::emulator::{self, Emulator, Seed, SeedRecord, Zone};

const AK: &str = "LTAI5tAlidnsKey0001";
const SECRET: &str = "alidns-secret-0001";

fn client(emu: &Emulator) -> AliyunClient {
    emu.client(AK, SECRET, None)
}

fn code(r: Result<Value, Error>) -> String {
    match r {
        Err(Error::Aliyun { code, .. }) => code,
        Err(other) => panic!("not an Alibaba error: {other}"),
        Ok(v) => panic!("accepted: {v}"),
    }
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

fn zone(name: &str, records: Vec<SeedRecord>) -> Zone {
    Zone {
        name: name.into(),
        dns_servers: vec![],
        records,
    }
}

async fn add(c: &AliyunClient, rr: &str, value: &str, extra: &[(&str, &str)]) -> String {
    let mut p = vec![
        ("DomainName", "example.com"),
        ("RR", rr),
        ("Type", "TXT"),
        ("Value", value),
    ];
    p.extend_from_slice(extra);
    let rsp = c.rpc(Product::Alidns, "AddDomainRecord", &p).await.unwrap();
    rsp["RecordId"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn record_remarks_follow_the_documented_rule() {
    let emu = emulator::start(Seed::default().access_key(AK, SECRET).zone("example.com")).await;
    let c = client(&emu);
    let id = add(&c, "_acme-challenge.www", "v1", &[]).await;
    let set = |remark: String| {
        let c = c.clone();
        let id = id.clone();
        async move {
            c.rpc(
                Product::Alidns,
                "UpdateDomainRecordRemark",
                &[("RecordId", &id), ("Remark", &remark)],
            )
            .await
        }
    };
    // What alicert used to write: `:` is outside the rule.
    assert_eq!(
        code(set("alicert:www:1800000000".into()).await),
        "Zone.Remark"
    );
    // `,` is allowed by UpdateDomainRemark but not by UpdateDnsCacheDomainRemark: refused.
    assert_eq!(
        code(set("alicert,www,1800000000".into()).await),
        "Zone.Remark"
    );
    assert_eq!(code(set("a".repeat(51)).await), "Zone.Remark");
    assert_eq!(code(set("with space".into()).await), "Zone.Remark");
    assert!(emu.state().record(&id).unwrap().remark.is_none());

    // 50 characters, Chinese, and what alicert writes now are accepted.
    for ok in [
        "a".repeat(50),
        "证书记录_www.example-1".to_string(),
        sweep::remark(&"n".repeat(60), 1_800_000_000),
    ] {
        set(ok.clone()).await.unwrap();
        assert_eq!(
            emu.state().record(&id).unwrap().remark.as_deref(),
            Some(&*ok)
        );
    }
    // An empty remark deletes it.
    set(String::new()).await.unwrap();
    assert!(emu.state().record(&id).unwrap().remark.is_none());

    // AddDomainRecord has no Remark parameter: one sent anyway marks nothing.
    let id2 = add(
        &c,
        "_acme-challenge.api",
        "v2",
        &[("Remark", "alicert_www_1800000000")],
    )
    .await;
    assert!(emu.state().record(&id2).unwrap().remark.is_none());
}

#[tokio::test]
async fn page_sizes_are_bounded_per_action() {
    let records = (0..25)
        .map(|i| txt("_acme-challenge", &format!("v{i}"), None))
        .collect();
    let mut seed = Seed::default().access_key(AK, SECRET);
    seed.zones.push(zone("example.com", records));
    let emu = emulator::start(seed).await;
    let c = client(&emu);
    let call = |action: &'static str, size: &str, number: &str| {
        let c = c.clone();
        let (size, number) = (size.to_string(), number.to_string());
        async move {
            let mut p = vec![
                ("DomainName", "example.com"),
                ("SubDomain", "_acme-challenge.example.com"),
            ];
            if !size.is_empty() {
                p.push(("PageSize", &size));
            }
            if !number.is_empty() {
                p.push(("PageNumber", &number));
            }
            c.rpc(Product::Alidns, action, &p).await
        }
    };
    // What alicert used to send: PageSize 500 on DescribeSubDomainRecords.
    assert_eq!(
        code(call("DescribeSubDomainRecords", "500", "").await),
        "InvalidParameter"
    );
    assert_eq!(
        code(call("DescribeSubDomainRecords", "101", "").await),
        "InvalidParameter"
    );
    assert_eq!(
        code(call("DescribeDomains", "101", "").await),
        "InvalidParameter"
    );
    assert_eq!(
        code(call("DescribeDomainRecords", "501", "").await),
        "InvalidParameter"
    );
    for action in [
        "DescribeSubDomainRecords",
        "DescribeDomains",
        "DescribeDomainRecords",
    ] {
        assert_eq!(
            code(call(action, "0", "").await),
            "InvalidParameter",
            "{action}"
        );
        assert_eq!(
            code(call(action, "10", "0").await),
            "InvalidParameter",
            "{action}"
        );
    }
    call("DescribeSubDomainRecords", "100", "").await.unwrap();
    call("DescribeDomains", "100", "").await.unwrap();
    call("DescribeDomainRecords", "500", "").await.unwrap();

    // Default 20 per page; pages numbered from 1; past the end: empty, TotalCount still told.
    let page = |v: &Value| v["DomainRecords"]["Record"].as_array().unwrap().len();
    let first = call("DescribeSubDomainRecords", "", "").await.unwrap();
    assert_eq!((page(&first), &first["TotalCount"]), (20, &Value::from(25)));
    assert_eq!(first["PageSize"], 20);
    let second = call("DescribeSubDomainRecords", "", "2").await.unwrap();
    assert_eq!(page(&second), 5);
    assert_eq!(second["PageNumber"], 2);
    let third = call("DescribeSubDomainRecords", "", "3").await.unwrap();
    assert_eq!((page(&third), &third["TotalCount"]), (0, &Value::from(25)));
    let values = |v: &Value| -> Vec<String> {
        v["DomainRecords"]["Record"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["Value"].as_str().unwrap().to_string())
            .collect()
    };
    let mut all = values(&first);
    all.extend(values(&second));
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 25, "pages overlap or miss records");
}

#[tokio::test]
async fn zone_discovery_pages_through_every_zone() {
    let mut seed = Seed::default().access_key(AK, SECRET);
    for i in 0..230 {
        seed.zones
            .push(zone(&format!("zone{i:03}.example"), vec![]));
    }
    seed.zones.push(zone("example.com", vec![]));
    let emu = emulator::start(seed).await;
    let dns = Alidns::new(client(&emu), 600);
    // The last zone listed (page 3 of 100) is found, and so is one on page 2.
    assert_eq!(
        dns.zone_for("_acme-challenge.www.example.com")
            .await
            .unwrap()
            .name,
        "example.com"
    );
    assert_eq!(
        dns.zone_for("_acme-challenge.zone150.example")
            .await
            .unwrap()
            .name,
        "zone150.example"
    );
    let calls = emu.state();
    let pages: Vec<(String, String)> = calls
        .calls_to("DescribeDomains")
        .iter()
        .map(|c| (c.params["PageNumber"].clone(), c.params["PageSize"].clone()))
        .collect();
    let want: Vec<(String, String)> = ["1", "2", "3"]
        .iter()
        .map(|n| (n.to_string(), "100".to_string()))
        .collect();
    assert_eq!(
        pages, want,
        "zones listed once, 100 per page, until TotalCount"
    );
}

#[tokio::test]
async fn the_sweep_pages_through_every_record_and_takes_only_stale_marked_ones() {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let old = now - 7200;
    let mut records = Vec::new();
    let mut want_swept = 0;
    let mut fresh = 0;
    // Stale ones among many fresh ones (a run in progress): more records than two pages, and
    // few enough deletes for AddDomainRecord's sibling quota (DeleteDomainRecord 60/s).
    for i in 0..1100 {
        let rr = format!("_acme-challenge.h{i}");
        let stale = i % 22 == 0;
        let at = if stale { old } else { now };
        records.push(txt(&rr, "x", Some(&sweep::remark("www", at))));
        if stale {
            want_swept += 1;
        } else {
            fresh += 1;
        }
    }
    // Left by older versions.
    for i in 0..10 {
        let rr = format!("_acme-challenge.legacy{i}");
        records.push(txt(&rr, "x", Some(&format!("alicert:www-api:{old}"))));
        want_swept += 1;
    }
    // Fresh (a run in progress), foreign, unmarked, or not a challenge record: kept.
    let mut kept = Vec::new();
    for i in 0..40 {
        kept.push(txt(
            &format!("_acme-challenge.fresh{i}"),
            "x",
            Some(&sweep::remark("www", now)),
        ));
        kept.push(txt(
            &format!("_acme-challenge.foreign{i}"),
            "x",
            Some(if i % 2 == 0 {
                "certbot"
            } else {
                "alicert_backup_2024"
            }),
        ));
        kept.push(txt(&format!("_acme-challenge.bare{i}"), "x", None));
    }
    kept.push(txt("www", "x", Some(&sweep::remark("www", old))));
    let kept_count = kept.len() + fresh;
    records.extend(kept);
    let mut seed = Seed::default().access_key(AK, SECRET);
    seed.zones.push(zone("example.com", records));
    let emu = emulator::start(seed).await;

    let dns = Alidns::new(client(&emu), 600);
    let z = dns.zone_for("_acme-challenge.example.com").await.unwrap();
    let swept = dns
        .sweep_stale(&z, Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(swept, want_swept);

    let state = emu.state();
    assert_eq!(
        state.records.len(),
        kept_count,
        "exactly the stale marked records went"
    );
    assert!(state.records.iter().all(|r| {
        r.remark
            .as_deref()
            .and_then(sweep::remark_time)
            .is_none_or(|t| t == now)
            || r.rr == "www"
    }));
    // 1231 challenge TXT records: three pages of 500, numbered from 1.
    let pages: Vec<(String, String)> = state
        .calls_to("DescribeDomainRecords")
        .iter()
        .map(|c| (c.params["PageNumber"].clone(), c.params["PageSize"].clone()))
        .collect();
    let want: Vec<(String, String)> = ["1", "2", "3"]
        .iter()
        .map(|n| (n.to_string(), "500".to_string()))
        .collect();
    assert_eq!(pages, want);
}

#[tokio::test]
async fn records_alicert_adds_carry_a_valid_exact_remark() {
    let emu = emulator::start(Seed::default().access_key(AK, SECRET).zone("example.com")).await;
    let dns = Alidns::new(client(&emu), 600);
    let z = dns
        .zone_for("_acme-challenge.www.example.com")
        .await
        .unwrap();
    // A 40-character name: shortened, still ≤ 50 and still its own.
    let long = "customer-portal-eu-central-production-xy";
    assert_eq!(long.len(), 40);
    for (name, fqdn) in [
        (long, "_acme-challenge.www.example.com"),
        ("www", "_acme-challenge.a.example.com"),
        ("www-api", "_acme-challenge.b.example.com"),
    ] {
        let rec = dns
            .for_certificate(name)
            .add_txt(&z, fqdn, "digest")
            .await
            .unwrap();
        let state = emu.state();
        let remark = state.record(&rec.id).unwrap().remark.clone().unwrap();
        assert!(remark.chars().count() <= 50, "{remark}");
        assert!(sweep::is_remark_of(name, &remark), "{name}: {remark}");
        for other in [long, "www", "www-api"].iter().filter(|o| **o != name) {
            assert!(
                !sweep::is_remark_of(other, &remark),
                "{other} claims {remark}"
            );
        }
    }
    // The emulator refused no remark alicert sent.
    assert!(emu
        .state()
        .calls_to("UpdateDomainRecordRemark")
        .iter()
        .all(|c| c.code.is_none()));
}

#[tokio::test]
async fn a_duplicate_of_a_stale_leftover_is_swept_and_added_again_a_fresh_one_adopted() {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    // A crashed run two hours ago left this order's very value (the CA handed out the same
    // authorization again); a run in progress a moment ago made the other one.
    let records = vec![
        txt(
            "_acme-challenge.www",
            "same-digest",
            Some(&sweep::remark("www", now - 7200)),
        ),
        txt(
            "_acme-challenge.api",
            "retried-digest",
            Some(&sweep::remark("www", now)),
        ),
    ];
    let mut seed = Seed::default().access_key(AK, SECRET);
    seed.zones.push(zone("example.com", records));
    let emu = emulator::start(seed).await;
    let seeded: Vec<String> = emu
        .state()
        .records
        .iter()
        .map(|r| r.record_id.clone())
        .collect();
    let dns = Alidns::new(client(&emu), 600)
        .with_sweep_grace(Duration::from_secs(3600))
        .for_certificate("www");
    let z = dns
        .zone_for("_acme-challenge.www.example.com")
        .await
        .unwrap();

    let stale = dns
        .create_txt(&z, "_acme-challenge.www.example.com", "same-digest")
        .await
        .unwrap();
    // Not the leftover (the sweep deleted it): a record of this run, which its cleanup deletes.
    assert_ne!(stale.id, seeded[0]);
    let state = emu.state();
    assert!(state.record(&seeded[0]).is_none(), "the leftover is gone");
    assert_eq!(state.record(&stale.id).unwrap().value, "same-digest");
    assert_eq!(state.calls_to("AddDomainRecord").len(), 2);

    // A fresh record with the value (a retried add whose first attempt landed) is adopted.
    let fresh = dns
        .create_txt(&z, "_acme-challenge.api.example.com", "retried-digest")
        .await
        .unwrap();
    assert_eq!(fresh.id, seeded[1]);
    assert_eq!(emu.state().records.len(), 2);
}

/// AddDomainRecord's documented quota (60 per second and account, help.aliyun.com/zh/dns/
/// api-alidns-2015-01-09-quota): two function instances adding 45 records each at once go
/// over it and some adds are refused `Throttling.User` (the client retries them); one
/// instance adding 90 stays within it by itself and is never refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_domain_record_is_held_to_its_quota_and_one_client_keeps_it() {
    let emu = emulator::start(Seed::default().access_key(AK, SECRET).zone("example.com")).await;
    let adds = |c: AliyunClient, prefix: &'static str, n: usize| async move {
        let futures = (0..n).map(|i| {
            let c = c.clone();
            async move {
                let rr = format!("_acme-challenge.{prefix}{i}");
                c.rpc(
                    Product::Alidns,
                    "AddDomainRecord",
                    &[
                        ("DomainName", "example.com"),
                        ("RR", &rr),
                        ("Type", "TXT"),
                        ("Value", "v"),
                    ],
                )
                .await
            }
        });
        futures_util::future::join_all(futures).await
    };
    let throttled = |emu: &Emulator| {
        emu.state()
            .calls_to("AddDomainRecord")
            .iter()
            .filter(|c| c.code.as_deref() == Some("Throttling.User"))
            .count()
    };
    let (a, b) = tokio::join!(adds(client(&emu), "a", 45), adds(client(&emu), "b", 45));
    assert!(
        throttled(&emu) > 0,
        "90 adds from two clients in one second"
    );
    // Retried by the client until the quota let them through.
    assert!(a.iter().chain(&b).all(|r| r.is_ok()));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let before = throttled(&emu);
    let one = adds(client(&emu), "c", 90).await;
    assert!(one.iter().all(|r| r.is_ok()));
    assert_eq!(throttled(&emu), before, "one client keeps the quota");
    assert_eq!(emu.state().records.len(), 180);
}
