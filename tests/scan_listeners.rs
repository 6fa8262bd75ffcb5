//! `alicert scan` lists ALB, NLB and GA listeners (issue 18): an emulated account with more
//! listeners than one page of ALB's ListListeners and GA's ListAccelerators, listeners of
//! protocols that hold no certificate (ALB HTTP, NLB TCP, GA TCP: never listed), listeners in
//! a second region, certificates valid, expiring and expired, and one listener the config
//! manages. Each row is the listener's default certificate, read as a run reads it; init
//! writes the listed listeners as targets a run deploys to.
mod support;

use std::collections::BTreeSet;

use serde_json::Value;
use support::emulator::Seed;
use support::rig::{self_signed_for, Rig};
use support::scenario::Scenario;

/// ALB HTTPS listeners in cn-hangzhou: more than one ListListeners page (100 at most).
const ALB_LISTENERS: usize = 103;
/// GA accelerators, one HTTPS listener each: more than one ListAccelerators page (50 at most).
const GA_ACCELERATORS: usize = 52;

/// The current config: certificate `shop` on ALB listener lsn-alb-000.
const CONFIG: &str = r#"
[[certificate]]
name = "shop"
domains = ["shop.example.com"]
targets = [{ kind = "alb", listener_id = "lsn-alb-000" }]
"#;

fn alb(n: usize) -> String {
    format!("lsn-alb-{n:03}")
}

fn ga(n: usize) -> String {
    format!("lsr-ga-{n:02}")
}

fn seed() -> Seed {
    let mut seed = Seed::default()
        .zone("example.com")
        .waf_instance("cn-hangzhou", "waf_v3_scan")
        .alb_listener_in("lsn-alb-sh", "cn-shanghai")
        .nlb_listener("lsn-nlb-1")
        .nlb_listener("lsn-nlb-2")
        .nlb_listener_in("lsn-nlb-sh", "cn-shanghai")
        .nlb_tcp_listener("lsn-nlb-tcp");
    for n in 0..ALB_LISTENERS {
        seed = seed.alb_listener(&alb(n));
    }
    for n in 0..GA_ACCELERATORS {
        seed = seed.ga_listener(&ga(n), &format!("ga-acc-{n:02}"));
    }
    seed
}

/// A CAS upload (not alicert's) for `name`, valid `days` more; its id.
fn upload(rig: &Rig, name: &str, days: i64) -> u64 {
    let (pem, key) = self_signed_for(&[name], days);
    rig.emulator
        .put_cas_certificate(&format!("theirs-{name}"), &pem, &key)
}

/// What the listeners serve, and the listeners no scan may list.
fn serve(rig: &Rig) {
    let e = &rig.emulator;
    e.set_alb_default_certificate(&alb(0), upload(rig, "shop.example.com", 70));
    e.set_alb_default_certificate(&alb(101), upload(rig, "old.example.com", -2));
    e.set_nlb_default_certificate("lsn-nlb-2", upload(rig, "tls.example.com", 10));
    e.set_ga_default_certificate(&ga(51), upload(rig, "edge.example.com", 40));
    e.add_alb_listener("lsn-alb-quic", "cn-hangzhou", "QUIC");
    e.add_alb_listener("lsn-alb-http", "cn-hangzhou", "HTTP");
    e.add_ga_listener("lsr-ga-tcp", "ga-acc-00", "TCP");
}

fn label(e: &Value) -> String {
    format!(
        "{} {}",
        e["kind"].as_str().unwrap(),
        e["resource"].as_str().unwrap()
    )
}

fn find<'a>(scan: &'a Value, which: &str) -> &'a Value {
    scan["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| label(e) == which)
        .unwrap_or_else(|| panic!("no endpoint {which}: {scan:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_lists_every_certificate_listener_of_alb_nlb_and_ga() {
    let rig = Scenario::from_toml(seed(), CONFIG).start().await;
    serve(&rig);
    let before = rig.emulator.state().calls.len();
    let args = [
        "scan",
        "--json",
        "--region",
        "cn-hangzhou",
        "--region",
        "cn-shanghai",
    ];
    let run = rig.run(&args).await;
    assert_eq!(run.exit, 0, "{}\n{}", run.stdout, run.stderr);
    let scan = &run.json["scan"];
    assert_eq!(scan["complete"], true, "{scan:#}");

    let listed = |kind: &str| -> BTreeSet<String> {
        let rows = scan["endpoints"].as_array().unwrap().iter();
        let rows = rows.filter(|e| e["kind"] == kind);
        rows.map(|e| e["resource"].as_str().unwrap().to_string())
            .collect()
    };
    // Every HTTPS and QUIC ALB listener of both regions, all pages; not the HTTP one.
    let mut want: BTreeSet<String> = (0..ALB_LISTENERS).map(alb).collect();
    want.extend(["lsn-alb-quic".to_string(), "lsn-alb-sh".to_string()]);
    assert_eq!(listed("alb"), want);
    // The TCPSSL NLB listeners of both regions; not the TCP one.
    let want: BTreeSet<String> = ["lsn-nlb-1", "lsn-nlb-2", "lsn-nlb-sh"]
        .map(String::from)
        .into();
    assert_eq!(listed("nlb"), want);
    // The HTTPS listener of every accelerator, all pages; not the TCP one.
    let want: BTreeSet<String> = (0..GA_ACCELERATORS).map(ga).collect();
    assert_eq!(listed("ga"), want);
    assert_eq!(find(scan, "alb lsn-alb-sh")["region"], "cn-shanghai");
    assert_eq!(find(scan, "nlb lsn-nlb-1")["region"], "cn-hangzhou");
    assert!(find(scan, "ga lsr-ga-00")["region"].is_null(), "{scan:#}");

    // What they serve, sorted by days left: expired, expiring, valid, then nothing.
    let serving: Vec<(String, i64)> = scan["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["days_left"].is_i64())
        .map(|e| (label(e), e["days_left"].as_i64().unwrap()))
        .collect();
    let want = [
        ("alb lsn-alb-101", -2, "old.example.com", "expired"),
        ("nlb lsn-nlb-2", 10, "tls.example.com", "expiring"),
        ("ga lsr-ga-51", 40, "edge.example.com", "valid"),
        ("alb lsn-alb-000", 70, "shop.example.com", "valid"),
    ];
    let order: Vec<&str> = serving.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(order, want.map(|w| w.0), "{scan:#}");
    for ((_, got), (which, days, name, health)) in serving.iter().zip(want) {
        assert!((days - 1..=days).contains(got), "{which}: {got}");
        let e = find(scan, which);
        assert_eq!(e["names"], serde_json::json!([name]), "{which}");
        assert_eq!(e["health"], health, "{which}");
        assert_eq!(e["source"], "cas", "{which}");
        assert!(e["cas_id"].is_string(), "{e:#}");
    }
    let idle = find(scan, "alb lsn-alb-050");
    assert_eq!(idle["health"], "none");
    assert!(
        idle["source"].is_null() && idle["days_left"].is_null(),
        "{idle:#}"
    );

    // Only the configured listener is managed, by its certificate.
    for e in scan["endpoints"].as_array().unwrap() {
        assert_eq!(e["managed"], label(e) == "alb lsn-alb-000", "{e:#}");
    }
    assert_eq!(find(scan, "alb lsn-alb-000")["certificate"], "shop");

    let not_scanned: BTreeSet<&str> = scan["not_scanned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    for kind in ["alb", "nlb", "ga"] {
        assert!(!not_scanned.contains(kind), "{kind}: {scan:#}");
    }

    // Read-only, and the listings took every page: 2 ALB pages in cn-hangzhou, 1 in
    // cn-shanghai; 2 of accelerators.
    let state = rig.emulator.state();
    let calls = &state.calls[before..];
    let writes: Vec<&str> = calls
        .iter()
        .map(|c| c.action.as_str())
        .filter(|a| !["Describe", "List", "Get"].iter().any(|p| a.starts_with(p)))
        .collect();
    assert!(writes.is_empty(), "scan wrote: {writes:?}");
    let count = |action: &str| calls.iter().filter(|c| c.action == action).count();
    assert_eq!(count("ListAccelerators"), 2);
    let alb_pages = calls
        .iter()
        .filter(|c| c.product == "alb" && c.action == "ListListeners");
    assert_eq!(alb_pages.count(), 3);
    assert_eq!(count("DescribeListener"), GA_ACCELERATORS);
}

/// The listed tables are what init writes: `alicert init --from-scan` puts the three listeners
/// serving `www.example.com` under one certificate, as `{kind, listener_id, region}` (GA: no
/// region), leaves the idle one a comment, and its first run deploys to exactly those three.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_from_scan_writes_listeners_as_targets_its_first_run_deploys_to() {
    let seed = Seed::default()
        .zone("example.com")
        .alb_listener("lsn-alb-www")
        .alb_listener("lsn-alb-idle")
        .nlb_listener("lsn-nlb-www")
        .ga_listener("lsr-ga-www", "ga-acc-www");
    let rig = Scenario::from_toml(seed, "").start().await;
    let e = &rig.emulator;
    e.set_alb_default_certificate("lsn-alb-www", upload(&rig, "www.example.com", 5));
    e.set_nlb_default_certificate("lsn-nlb-www", upload(&rig, "www.example.com", 5));
    e.set_ga_default_certificate("lsr-ga-www", upload(&rig, "www.example.com", 5));
    let (text, config) = rig.init_from_scan().await;
    let proposed = rig.dir.path().join("proposed.toml");
    let certs = config["certificate"].as_array().unwrap();
    assert_eq!(certs.len(), 1, "{text}");
    assert_eq!(
        certs[0]["domains"],
        toml::Value::from(vec!["www.example.com"])
    );
    let targets: Vec<&toml::Value> = certs[0]["targets"].as_array().unwrap().iter().collect();
    let want: toml::Table = toml::from_str(
        r#"t = [
  { kind = "alb", listener_id = "lsn-alb-www", region = "cn-hangzhou" },
  { kind = "ga", listener_id = "lsr-ga-www" },
  { kind = "nlb", listener_id = "lsn-nlb-www", region = "cn-hangzhou" },
]"#,
    )
    .unwrap();
    let want: Vec<&toml::Value> = want["t"].as_array().unwrap().iter().collect();
    assert_eq!(targets, want, "{text}");
    assert!(
        text.contains(
            r#"#   { kind = "alb", listener_id = "lsn-alb-idle", region = "cn-hangzhou" }"#
        ),
        "{text}"
    );

    // The first run (forced: the listeners serve valid certificates of their own).
    let ca = rig.pebble.ca_bundle().display().to_string();
    let dns = rig.pebble.dns_addr().to_string();
    let env = [
        ("ALICERT_ACME_CA_BUNDLE", ca.as_str()),
        ("ALICERT_DNS_RESOLVERS", dns.as_str()),
    ];
    let first = rig
        .run_with_env(
            &env,
            &[
                "--config",
                proposed.to_str().unwrap(),
                "invoke",
                r#"{"force":true}"#,
            ],
        )
        .await;
    assert_eq!(first.exit, 0, "{}\n{}", first.stdout, first.stderr);
    let deployed: BTreeSet<String> = first.json["certificates"][0]["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["status"] == "deployed")
        .map(|t| {
            format!(
                "{} {}",
                t["kind"].as_str().unwrap(),
                t["id"].as_str().unwrap()
            )
        })
        .collect();
    let want: BTreeSet<String> = ["alb lsn-alb-www", "ga lsr-ga-www", "nlb lsn-nlb-www"]
        .map(String::from)
        .into();
    assert_eq!(deployed, want, "{}", first.stdout);
    let state = rig.emulator.state();
    assert!(state
        .alb_listener("lsn-alb-idle")
        .unwrap()
        .default_certificate
        .is_none());
}
