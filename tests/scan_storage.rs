//! `alicert scan` lists OSS bucket domains: ListBuckets (every page) keeps the buckets of each
//! scanned region, each bucket's ListCname gives its domains, and each domain is read like an
//! `oss` target (its bound CAS certificate).
mod support;

use support::outcome::scan_rows as rows;

use support::emulator::Seed;
use support::rig::self_signed_for;
use support::scenario::Scenario;

/// `static.example.com` on bucket `assets` is the config's.
const CONFIG: &str = r#"
[[certificate]]
name = "static"
domains = ["static.example.com"]
targets = [{ kind = "oss", bucket = "assets", domain = "static.example.com" }]
"#;

/// More buckets than one ListBuckets page holds (1,000), three with domains, one of them in
/// another region.
fn seed() -> Seed {
    let mut seed = Seed::default()
        .zone("example.com")
        .bucket("assets")
        .oss_cname("assets", "static.example.com")
        .oss_cname("assets", "img.example.com")
        .bucket_in("eu-site", "cn-shanghai")
        .oss_cname("eu-site", "eu.example.com");
    for i in 0..1000 {
        seed = seed.bucket(&format!("fill-{i:04}"));
    }
    // Sorted after the fillers: found only on the second page.
    seed.bucket("zz-last")
        .oss_cname("zz-last", "last.example.com")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_lists_every_bucket_domain_of_the_scanned_regions() {
    let rig = Scenario::from_toml(seed(), CONFIG).start().await;
    let e = &rig.emulator;
    let (pem, key) = self_signed_for(&["static.example.com"], 10);
    let id = e.put_cas_certificate("theirs-static", &pem, &key);
    e.set_oss_cname_certificate_from_cas("assets", "static.example.com", id);
    let (pem, key) = self_signed_for(&["eu.example.com"], 70);
    let id = e.put_cas_certificate("theirs-eu", &pem, &key);
    e.set_oss_cname_certificate_from_cas("eu-site", "eu.example.com", id);

    let before = e.state().calls.len();
    let run = rig
        .run(&["scan", "--json", "--region", "cn-hangzhou"])
        .await;
    assert_eq!(run.exit, 0, "{}\n{}", run.stdout, run.stderr);
    let scan = &run.json["scan"];
    let oss = rows(scan, "oss");
    let names: Vec<&str> = oss.iter().map(|(r, _)| r.as_str()).collect();
    // Serving first (by days left), then the domains serving nothing; cn-shanghai not scanned.
    assert_eq!(
        names,
        [
            "assets/static.example.com",
            "assets/img.example.com",
            "zz-last/last.example.com"
        ],
        "{scan:#}"
    );
    let st = &oss[0].1;
    assert_eq!(st["health"], "expiring");
    assert!(
        (9..=10).contains(&st["days_left"].as_i64().unwrap()),
        "{st:#}"
    );
    assert_eq!(st["names"], serde_json::json!(["static.example.com"]));
    assert_eq!(st["source"], "cas");
    assert_eq!(st["region"], "cn-hangzhou");
    assert_eq!(st["managed"], true);
    assert_eq!(st["certificate"], "static");
    assert_eq!(oss[1].1["health"], "none");
    assert_eq!(oss[1].1["managed"], false);
    let kinds: Vec<&str> = scan["not_scanned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert!(!kinds.contains(&"oss"), "{kinds:?}");
    assert_eq!(scan["complete"], true, "{scan:#}");
    let calls = &e.state().calls[before..];
    let pages = calls.iter().filter(|c| c.action == "ListBuckets").count();
    assert_eq!(pages, 2, "1,003 buckets take two pages of 1,000");
    assert!(calls
        .iter()
        .filter(|c| c.action == "ListBuckets")
        .all(|c| c.code.is_none()));

    // Both regions: the cn-shanghai bucket's domain is read through its own region.
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
    let oss = rows(&run.json["scan"], "oss");
    let eu = oss
        .iter()
        .find(|(r, _)| r == "eu-site/eu.example.com")
        .unwrap_or_else(|| panic!("{oss:#?}"));
    assert_eq!(eu.1["region"], "cn-shanghai");
    assert_eq!(eu.1["health"], "valid");
    assert_eq!(oss.len(), 4, "{oss:#?}");
}

/// `init --from-scan` writes an OSS endpoint as the target it was read as: bucket, domain and
/// region, and the written config loads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_from_scan_writes_bucket_domains_as_oss_targets() {
    let rig = Scenario::from_toml(
        Seed::default()
            .zone("example.com")
            .bucket("assets")
            .oss_cname("assets", "static.example.com"),
        CONFIG,
    )
    .start()
    .await;
    let e = &rig.emulator;
    let (pem, key) = self_signed_for(&["static.example.com"], 10);
    let id = e.put_cas_certificate("theirs-static", &pem, &key);
    e.set_oss_cname_certificate_from_cas("assets", "static.example.com", id);
    let (text, config) = rig.init_from_scan().await;
    let certs = config["certificate"].as_array().unwrap();
    assert_eq!(certs.len(), 1, "{text}");
    assert_eq!(
        certs[0]["domains"],
        toml::Value::from(vec!["static.example.com"])
    );
    let target = certs[0]["targets"].as_array().unwrap()[0]
        .as_table()
        .unwrap();
    let want: toml::Table = toml::from_str(
        r#"kind = "oss"
bucket = "assets"
domain = "static.example.com"
region = "cn-hangzhou""#,
    )
    .unwrap();
    assert_eq!(target, &want, "{text}");
}
