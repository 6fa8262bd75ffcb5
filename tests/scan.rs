//! `alicert scan` and `alicert init`: an emulated account with endpoints of several kinds —
//! some managed by the config, some not, some expired or expiring, some serving nothing —
//! scanned read-only, sorted by days left, with the right `managed` flags and sources; a
//! listing the caller may not make names its RAM action; `init --from-scan` writes a config
//! that loads, and whose first run deploys to exactly the targets it proposed.
mod support;

use std::collections::BTreeSet;

use serde_json::Value;
use support::emulator::Seed;
use support::rig::{self_signed_for, Rig};
use support::scenario::Scenario;

/// The current config: certificate `www` on the CDN domain www.example.com.
const CONFIG: &str = r#"
[[certificate]]
name = "www"
domains = ["www.example.com"]
targets = [{ kind = "cdn", domain = "www.example.com" }]
"#;

fn seed() -> Seed {
    Seed::default()
        .zone("example.com")
        .zone("example.org")
        .cdn_domain("www.example.com")
        .cdn_domain("old.example.com")
        .cdn_domain("shop.example.org")
        .dcdn_domain("static.example.com")
        .live_domain("live.example.com")
        .fc_domain("fn.example.com")
        .apig_domain("api.example.org")
        .ddos_domain("guard.example.com", "cn-hangzhou")
        .waf_instance("cn-hangzhou", "waf_v3_scan")
}

/// Seeds what each endpoint serves: (kind resource, days left), and the CAS id of the
/// certificates bound through CAS.
fn serve(rig: &Rig) -> Vec<(&'static str, i64)> {
    let e = &rig.emulator;
    let (pem, key) = self_signed_for(&["www.example.com"], 5);
    e.set_cdn_certificate("www.example.com", &pem, &key);
    let (pem, key) = self_signed_for(&["old.example.com"], -3);
    e.set_cdn_certificate("old.example.com", &pem, &key);
    let (pem, key) = self_signed_for(&["shop.example.org"], 80);
    e.set_cdn_certificate("shop.example.org", &pem, &key);
    let (pem, key) = self_signed_for(&["static.example.com"], 20);
    e.set_dcdn_certificate("static.example.com", &pem, &key);
    let (pem, key) = self_signed_for(&["api.example.org"], 45);
    let id = e.put_cas_certificate("theirs-api", &pem, &key);
    e.edit_apig_domain("api.example.org", |d| {
        d.cert_identifier = Some(format!("{id}-cn-hangzhou"))
    });
    let (pem, key) = self_signed_for(&["guard.example.com"], 60);
    let id = e.put_cas_certificate("theirs-guard", &pem, &key);
    e.set_ddos_certificate("guard.example.com", id);
    vec![
        ("cdn old.example.com", -3),
        ("cdn www.example.com", 5),
        ("dcdn static.example.com", 20),
        ("apig api.example.org", 45),
        ("ddos guard.example.com", 60),
        ("cdn shop.example.org", 80),
    ]
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
async fn scan_sorts_by_days_left_and_marks_what_the_config_manages() {
    let rig = Scenario::from_toml(seed(), CONFIG).start().await;
    let served = serve(&rig);
    let before = rig.emulator.state().calls.len();
    let run = rig.run(&["scan", "--json"]).await;
    assert_eq!(run.exit, 0, "{}\n{}", run.stdout, run.stderr);
    let scan = &run.json["scan"];
    let endpoints = scan["endpoints"].as_array().unwrap();
    // Serving ones first, by days left (the seeded validity, give or take the day boundary).
    let serving: Vec<(String, i64)> = endpoints
        .iter()
        .filter(|e| e["days_left"].is_i64())
        .map(|e| (label(e), e["days_left"].as_i64().unwrap()))
        .collect();
    let order: Vec<&str> = served.iter().map(|(l, _)| *l).collect();
    assert_eq!(
        serving.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>(),
        order,
        "{scan:#}"
    );
    for ((_, got), (_, want)) in serving.iter().zip(&served) {
        assert!((want - 1..=*want).contains(got), "{serving:?}");
    }
    // Then those serving nothing.
    let idle: BTreeSet<String> = endpoints.iter().skip(serving.len()).map(label).collect();
    let want: BTreeSet<String> = ["live live.example.com", "fc fn.example.com"]
        .map(String::from)
        .into();
    assert_eq!(idle, want, "{scan:#}");
    assert_eq!(find(scan, "fc fn.example.com")["region"], "cn-hangzhou");
    assert_eq!(find(scan, "fc fn.example.com")["health"], "none");

    // Only the configured target is managed, and by its certificate.
    for e in endpoints {
        let managed = label(e) == "cdn www.example.com";
        assert_eq!(e["managed"], managed, "{e:#}");
    }
    assert_eq!(find(scan, "cdn www.example.com")["certificate"], "www");
    assert_eq!(find(scan, "cdn www.example.com")["health"], "expiring");
    assert_eq!(find(scan, "cdn old.example.com")["health"], "expired");
    assert_eq!(find(scan, "cdn shop.example.org")["health"], "valid");
    // Where each came from: CAS (bound by id) or a PEM given to the CDN directly.
    assert_eq!(find(scan, "ddos guard.example.com")["source"], "cas");
    assert!(find(scan, "ddos guard.example.com")["cas_id"].is_string());
    assert_eq!(find(scan, "cdn shop.example.org")["source"], "not_in_cas");
    assert_eq!(
        find(scan, "apig api.example.org")["names"],
        serde_json::json!(["api.example.org"])
    );
    let not_scanned: BTreeSet<&str> = scan["not_scanned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "alb",
        "nlb",
        "ga",
        "slb",
        "apigateway",
        "oss",
        "esa",
        "esa-saas",
    ] {
        assert!(!not_scanned.contains(&kind), "{kind}: {scan:#}");
    }
    assert_eq!(scan["complete"], true);
    let writes: Vec<String> = rig.emulator.state().calls[before..]
        .iter()
        .map(|c| c.action.clone())
        .filter(|a| !["Describe", "List", "Get"].iter().any(|p| a.starts_with(p)))
        .collect();
    assert!(writes.is_empty(), "scan wrote: {writes:?}");

    // The table a terminal shows: expired first, then a summary.
    let table = rig.run(&["scan"]).await;
    assert_eq!(table.exit, 0, "{}", table.stderr);
    let first = table.stdout.lines().nth(3).unwrap_or_default();
    assert!(
        first.starts_with("-3") || first.starts_with("-4"),
        "{}",
        table.stdout
    );
    assert!(first.contains("old.example.com"), "{}", table.stdout);
    assert!(
        table
            .stdout
            .contains("8 endpoints: 1 expired, 2 expiring within 30 days, 1 managed"),
        "{}",
        table.stdout
    );
    assert!(table.stderr.contains("scan: listed"), "{}", table.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_the_caller_may_not_make_names_its_action_and_the_rest_is_scanned() {
    let rig = Scenario::from_toml(seed(), CONFIG).start().await;
    serve(&rig);
    // The function's own policy: it deploys to cdn www.example.com and lists nothing.
    rig.restrict_to_policy();
    let run = rig
        .invoke(r#"{"action":"scan","regions":["cn-hangzhou"]}"#)
        .await;
    assert_eq!(run.exit, 1, "not complete: {}\n{}", run.stdout, run.stderr);
    let scan = &run.json["scan"];
    assert_eq!(scan["complete"], false);
    assert_eq!(scan["regions"], serde_json::json!(["cn-hangzhou"]));
    let denied: BTreeSet<String> = scan["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["status"] == "missing_permission")
        .flat_map(|p| p["actions"].as_array().unwrap().iter())
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    for action in [
        "cdn:DescribeUserDomains",
        "live:DescribeLiveUserDomains",
        "fc:ListCustomDomains",
    ] {
        assert!(denied.contains(action), "{action}: {scan:#}");
    }
    rig.emulator.set_ram_policy(None).unwrap();
    let bad = rig
        .invoke(r#"{"action":"scan","regions":["cn hangzhou"]}"#)
        .await;
    assert_eq!(bad.exit, 2, "{}", bad.stderr);
    let bad = rig.invoke(r#"{"action":"scan","force":true}"#).await;
    assert_eq!(bad.exit, 2, "{}", bad.stderr);
}

/// "kind resource" of every uncommented target of a config.
fn proposed(path: &std::path::Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let value: toml::Table = toml::from_str(&text).unwrap();
    let mut out = BTreeSet::new();
    for c in value["certificate"].as_array().unwrap() {
        for t in c["targets"].as_array().unwrap() {
            let resource = t.get("domain").or(t.get("hostname")).unwrap();
            out.insert(format!(
                "{} {}",
                t["kind"].as_str().unwrap(),
                resource.as_str().unwrap()
            ));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_from_scan_writes_a_config_whose_first_run_deploys_to_exactly_its_targets() {
    let rig = Scenario::from_toml(seed(), CONFIG).start().await;
    serve(&rig);
    let path = rig.dir.path().join("proposed.toml");
    let out = path.to_str().unwrap();
    let directory = rig.pebble.directory_url();
    let key = support::scenario::OSS_KEY;
    let args = [
        "init",
        "--from-scan",
        "--output",
        out,
        "--ca",
        directory,
        "--account-key",
        key,
    ];
    let init = rig.run(&args).await;
    assert_eq!(init.exit, 0, "{}", init.stderr);
    let text = std::fs::read_to_string(&path).unwrap();
    // It loads and validates as any config does.
    alicert::config::Config::load(Some(&path)).unwrap_or_else(|e| panic!("{e}\n{text}"));
    // Never overwritten without --force.
    let again = rig.run(&args).await;
    assert_eq!(again.exit, 2, "{}", again.stderr);
    assert!(again.stderr.contains("--force"), "{}", again.stderr);

    // Siblings under one parent share a wildcard certificate.
    let config: toml::Table = toml::from_str(&text).unwrap();
    let names: BTreeSet<Vec<String>> = config["certificate"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            c["domains"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_str().unwrap().to_string())
                .collect()
        })
        .collect();
    let want: BTreeSet<Vec<String>> = [vec!["*.example.com"], vec!["*.example.org"]]
        .iter()
        .map(|v| v.iter().map(|s| s.to_string()).collect())
        .collect();
    assert_eq!(names, want, "{text}");
    let targets = proposed(&path);
    let want: BTreeSet<String> = [
        "cdn old.example.com",
        "cdn www.example.com",
        "dcdn static.example.com",
        "ddos guard.example.com",
        "apig api.example.org",
        "cdn shop.example.org",
    ]
    .map(String::from)
    .into();
    assert_eq!(targets, want, "{text}");
    // Endpoints serving nothing and the kinds not scanned are comments with the reason.
    assert!(
        text.contains("#   { kind = \"live\", domain = \"live.example.com\" }"),
        "{text}"
    );
    assert!(
        text.contains("#   oss-bundle: writes certificate files"),
        "{text}"
    );

    // The first run (forced: some endpoints serve valid certificates of their own).
    let ca = rig.pebble.ca_bundle().display().to_string();
    let dns = rig.pebble.dns_addr().to_string();
    let env = [
        ("ALICERT_ACME_CA_BUNDLE", ca.as_str()),
        ("ALICERT_DNS_RESOLVERS", dns.as_str()),
    ];
    let first = rig
        .run_with_env(&env, &["--config", out, "invoke", r#"{"force":true}"#])
        .await;
    assert_eq!(first.exit, 0, "{}\n{}", first.stdout, first.stderr);
    let deployed: BTreeSet<String> = first.json["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["targets"].as_array().unwrap().iter())
        .filter(|t| t["status"] == "deployed")
        .map(|t| {
            format!(
                "{} {}",
                t["kind"].as_str().unwrap(),
                t["id"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(deployed, targets, "{}", first.stdout);
}
