//! `alicert scan` lists API Gateway groups' custom domains: DescribeApiGroups (every page of
//! 50) gives the scanned region's groups, each group's DescribeApiGroup its custom domains, and
//! each domain is read like an `apigateway` target (DescribeDomain's certificate).
mod support;

use serde_json::Value;
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

fn rows(scan: &Value, kind: &str) -> Vec<(String, Value)> {
    scan["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .map(|e| (e["resource"].as_str().unwrap().to_string(), e.clone()))
        .collect()
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
    assert!(calls
        .iter()
        .filter(|c| c.product == "apigateway")
        .all(|c| c.code.is_none()));

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
    let path = rig.dir.path().join("proposed.toml");
    let args = [
        "init",
        "--from-scan",
        "--output",
        path.to_str().unwrap(),
        "--ca",
        rig.pebble.directory_url(),
        "--account-key",
        support::scenario::OSS_KEY,
    ];
    let init = rig.run(&args).await;
    assert_eq!(init.exit, 0, "{}", init.stderr);
    let text = std::fs::read_to_string(&path).unwrap();
    alicert::config::Config::load(Some(&path)).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let config: toml::Table = toml::from_str(&text).unwrap();
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
