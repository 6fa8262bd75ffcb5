//! `alicert scan` lists API Gateway groups' custom domains: DescribeApiGroups (every page of
//! 50) gives the scanned region's groups, each group's DescribeApiGroup its custom domains, and
//! each domain is read like an `apigateway` target (DescribeDomain's certificate). And SLB
//! HTTPS listeners: DescribeLoadBalancerListeners (every page of 100, HTTPS only), each
//! listener's DescribeDomainExtensions, each read like an `slb` target.
mod support;

use support::outcome::scan_rows as rows;

use support::emulator::Seed;
use support::rig::self_signed_for;
use support::scenario::Scenario;

/// `api.example.com` on group `g-api` is the config's.
const CONFIG: &str = r#"
[[certificate]]
name = "api"
domains = ["api.example.com"]
targets = [{ kind = "apigateway", group_id = "g-api", domain = "api.example.com" }]
"#;

/// More groups than one DescribeApiGroups page holds (50): 60 fillers with a domain each, the
/// config's group with two domains, and one group sorted last (found only on the second page).
fn seed() -> Seed {
    let mut seed = Seed::default()
        .zone("example.com")
        .apigateway_domain("g-api", "api.example.com")
        .apigateway_domain("g-api", "plain.example.com");
    for i in 0..60 {
        seed = seed.apigateway_domain(&format!("g-fill-{i:02}"), &format!("f{i:02}.example.com"));
    }
    seed.apigateway_domain("zz-old", "old.example.com")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_lists_every_api_group_custom_domain_of_the_scanned_regions() {
    let rig = Scenario::from_toml(seed(), CONFIG).start().await;
    let e = &rig.emulator;
    // Given to API Gateway directly (no CAS copy), expiring in 10 days.
    let (pem, key) = self_signed_for(&["api.example.com"], 10);
    e.set_apigateway_certificate("g-api", "api.example.com", &pem, &key);
    // Expired 3 days ago, and the same certificate is one of CAS's uploads.
    let (pem, key) = self_signed_for(&["old.example.com"], -3);
    let cas_id = e.put_cas_certificate("theirs-old", &pem, &key);
    e.set_apigateway_certificate("zz-old", "old.example.com", &pem, &key);

    let before = e.state().calls.len();
    let run = rig
        .run(&["scan", "--json", "--region", "cn-hangzhou"])
        .await;
    assert_eq!(run.exit, 0, "{}\n{}", run.stdout, run.stderr);
    let scan = &run.json["scan"];
    assert_eq!(scan["complete"], true, "{scan:#}");
    let groups = rows(scan, "apigateway");
    assert_eq!(groups.len(), 63, "{groups:#?}");
    // Expired first, then expiring, then the domains serving nothing.
    let first: Vec<&str> = groups.iter().take(3).map(|(r, _)| r.as_str()).collect();
    assert_eq!(
        first,
        [
            "zz-old/old.example.com",
            "g-api/api.example.com",
            "g-api/plain.example.com"
        ],
        "{scan:#}"
    );
    let old = &groups[0].1;
    assert_eq!(old["health"], "expired");
    assert!(
        (-4..=-3).contains(&old["days_left"].as_i64().unwrap()),
        "{old:#}"
    );
    assert_eq!(old["names"], serde_json::json!(["old.example.com"]));
    assert_eq!(old["source"], "cas");
    assert_eq!(old["cas_id"], cas_id.to_string(), "{old:#}");
    assert_eq!(old["managed"], false);
    assert_eq!(old["region"], "cn-hangzhou");

    let api = &groups[1].1;
    assert_eq!(api["health"], "expiring");
    assert!(
        (9..=10).contains(&api["days_left"].as_i64().unwrap()),
        "{api:#}"
    );
    assert_eq!(api["names"], serde_json::json!(["api.example.com"]));
    assert_eq!(api["source"], "not_in_cas");
    assert_eq!(api["managed"], true);
    assert_eq!(api["certificate"], "api");

    // A bound domain serving nothing is still an endpoint (it can be given a certificate).
    for (resource, row) in &groups[2..] {
        assert_eq!(row["health"], "none", "{resource}: {row:#}");
        assert_eq!(row["managed"], false, "{resource}");
    }
    assert!(groups.iter().any(|(r, _)| r == "g-fill-59/f59.example.com"));

    let kinds: Vec<&str> = scan["not_scanned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert!(!kinds.contains(&"apigateway"), "{kinds:?}");

    let calls = &e.state().calls[before..];
    let count = |action: &str| calls.iter().filter(|c| c.action == action).count();
    assert_eq!(
        count("DescribeApiGroups"),
        2,
        "62 groups take two pages of 50"
    );
    assert_eq!(count("DescribeApiGroup"), 62, "each group read once");
    assert_eq!(count("DescribeDomain"), 63, "each custom domain read once");
    let ours: Vec<_> = calls.iter().filter(|c| c.product == "apigateway").collect();
    assert!(!ours.is_empty() && ours.iter().all(|c| c.code.is_none()));

    // A second region without groups adds nothing (and lists nothing twice).
    let run = rig
        .run(&[
            "scan",
            "--json",
            "--region",
            "cn-hangzhou",
            "--region",
            "cn-shanghai",
        ])
        .await;
    assert_eq!(run.exit, 0, "{}\n{}", run.stdout, run.stderr);
    let groups = rows(&run.json["scan"], "apigateway");
    assert_eq!(groups.len(), 63);
    assert!(groups.iter().all(|(_, r)| r["region"] == "cn-hangzhou"));
}

/// `init --from-scan` writes an API Gateway custom domain as the target it was read as: group,
/// domain and region, and the written config loads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_from_scan_writes_custom_domains_as_apigateway_targets() {
    let rig = Scenario::from_toml(
        Seed::default()
            .zone("example.com")
            .apigateway_domain("g-api", "api.example.com"),
        CONFIG,
    )
    .start()
    .await;
    let e = &rig.emulator;
    let (pem, key) = self_signed_for(&["api.example.com"], 10);
    e.set_apigateway_certificate("g-api", "api.example.com", &pem, &key);
    let (text, config) = rig.init_from_scan().await;
    let certs = config["certificate"].as_array().unwrap();
    assert_eq!(certs.len(), 1, "{text}");
    assert_eq!(
        certs[0]["domains"],
        toml::Value::from(vec!["api.example.com"])
    );
    let target = certs[0]["targets"].as_array().unwrap()[0]
        .as_table()
        .unwrap();
    let want: toml::Table = toml::from_str(
        r#"kind = "apigateway"
group_id = "g-api"
domain = "api.example.com"
region = "cn-hangzhou""#,
    )
    .unwrap();
    assert_eq!(target, &want, "{text}");
}

/// SLB: more HTTPS listeners than one DescribeLoadBalancerListeners page holds (100), an HTTP
/// listener (not listed: it holds no certificate), and SNI domain extensions listed as their
/// own targets.
fn slb_seed() -> Seed {
    let mut seed = Seed::default()
        .zone("example.com")
        .slb_listener("lb-web", 443)
        .slb_listener_of("lb-web", 80, "http")
        .slb_domain_extension("de-sni", "lb-web", 443, "sni.example.com");
    for i in 0..100 {
        seed = seed.slb_listener(&format!("lb-fill-{i:03}"), 443);
    }
    seed
}

/// `lb-web:443` is the config's.
const SLB_CONFIG: &str = r#"
[[certificate]]
name = "web"
domains = ["www.example.com"]
targets = [{ kind = "slb", load_balancer_id = "lb-web", listener_port = 443 }]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_lists_every_slb_https_listener_and_domain_extension() {
    let rig = Scenario::from_toml(slb_seed(), SLB_CONFIG).start().await;
    let e = &rig.emulator;
    let (pem, key) = self_signed_for(&["www.example.com"], 10);
    let web = e.put_cas_certificate("theirs-web", &pem, &key);
    e.set_slb_certificate_from_cas("lb-web", 443, None, web);
    let (pem, key) = self_signed_for(&["sni.example.com"], -2);
    let sni = e.put_cas_certificate("theirs-sni", &pem, &key);
    e.set_slb_certificate_from_cas("lb-web", 443, Some("de-sni"), sni);

    let before = e.state().calls.len();
    let run = rig
        .run(&["scan", "--json", "--region", "cn-hangzhou"])
        .await;
    assert_eq!(run.exit, 0, "{}\n{}", run.stdout, run.stderr);
    let scan = &run.json["scan"];
    assert_eq!(scan["complete"], true, "{scan:#}");
    let slb = rows(scan, "slb");
    // 101 HTTPS listeners and one domain extension; the HTTP listener is not an endpoint.
    assert_eq!(slb.len(), 102, "{slb:#?}");
    assert!(!slb.iter().any(|(r, _)| r == "lb-web:80"), "{slb:#?}");
    let first: Vec<&str> = slb.iter().take(2).map(|(r, _)| r.as_str()).collect();
    assert_eq!(first, ["lb-web/de-sni", "lb-web:443"], "{scan:#}");
    let ext = &slb[0].1;
    assert_eq!(ext["health"], "expired");
    assert!(
        (-3..=-2).contains(&ext["days_left"].as_i64().unwrap()),
        "{ext:#}"
    );
    assert_eq!(ext["names"], serde_json::json!(["sni.example.com"]));
    assert_eq!(ext["source"], "cas");
    assert_eq!(ext["cas_id"], sni.to_string());
    assert_eq!(ext["managed"], false);
    let lsn = &slb[1].1;
    assert_eq!(lsn["health"], "expiring");
    assert!(
        (9..=10).contains(&lsn["days_left"].as_i64().unwrap()),
        "{lsn:#}"
    );
    assert_eq!(lsn["source"], "cas");
    assert_eq!(lsn["cas_id"], web.to_string());
    assert_eq!(lsn["managed"], true);
    assert_eq!(lsn["certificate"], "web");
    assert_eq!(lsn["region"], "cn-hangzhou");
    for (resource, row) in &slb[2..] {
        assert_eq!(row["health"], "none", "{resource}: {row:#}");
    }
    let kinds: Vec<&str> = scan["not_scanned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert!(!kinds.contains(&"slb"), "{kinds:?}");

    let calls = &e.state().calls[before..];
    let count = |action: &str| calls.iter().filter(|c| c.action == action).count();
    assert_eq!(
        count("DescribeLoadBalancerListeners"),
        2,
        "101 HTTPS listeners take two pages of 100"
    );
    assert_eq!(count("DescribeDomainExtensions"), 101);
    let ours: Vec<_> = calls.iter().filter(|c| c.product == "slb").collect();
    assert!(!ours.is_empty() && ours.iter().all(|c| c.code.is_none()));
}

/// `init --from-scan` writes an SLB listener as the target it was read as (its port a number),
/// and the written config loads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_from_scan_writes_https_listeners_as_slb_targets() {
    let seed = Seed::default()
        .zone("example.com")
        .slb_listener("lb-web", 443)
        .slb_listener_of("lb-web", 80, "http");
    let rig = Scenario::from_toml(seed, SLB_CONFIG).start().await;
    let e = &rig.emulator;
    let (pem, key) = self_signed_for(&["www.example.com"], 10);
    let web = e.put_cas_certificate("theirs-web", &pem, &key);
    e.set_slb_certificate_from_cas("lb-web", 443, None, web);
    let (text, config) = rig.init_from_scan().await;
    let certs = config["certificate"].as_array().unwrap();
    assert_eq!(certs.len(), 1, "{text}");
    let targets = certs[0]["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 1, "{text}");
    let want: toml::Table = toml::from_str(
        r#"kind = "slb"
load_balancer_id = "lb-web"
listener_port = 443
region = "cn-hangzhou""#,
    )
    .unwrap();
    assert_eq!(targets[0].as_table().unwrap(), &want, "{text}");
}
