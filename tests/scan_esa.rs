//! `alicert scan` lists ESA SaaS custom hostnames: ListSites (every page, at the ESA API region
//! of the account: cn-hangzhou for a `cn-` region) and each site's ListCustomHostnames, each
//! hostname read like an `esa-saas` target (GetCustomHostname's certificate).
mod support;

use support::outcome::scan_rows as rows;

use serde_json::Value;
use support::emulator::Seed;
use support::rig::self_signed_for;
use support::scenario::Scenario;

const SITE: u64 = 1_234_567_890_000;

/// `shop.example.com` is the config's.
const CONFIG: &str = r#"
[[certificate]]
name = "shop"
domains = ["shop.example.com"]
targets = [{ kind = "esa-saas", site_id = "1234567890000", hostname = "shop.example.com" }]
"#;

/// More sites than one ListSites page holds (500): the first with two hostnames, the last
/// (second page) with one.
fn seed() -> Seed {
    let mut seed = Seed::default()
        .zone("example.com")
        .esa_site(SITE, "example.com")
        .esa_hostname(SITE, "shop.example.com", None)
        .esa_hostname(SITE, "api.example.com", None);
    for i in 1..500 {
        seed = seed.esa_site(SITE + i, &format!("fill{i}.example"));
    }
    seed.esa_site(SITE + 500, "last.example")
        .esa_hostname(SITE + 500, "www.last.example", None)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_lists_every_saas_hostname_of_every_site() {
    let rig = Scenario::from_toml(seed(), CONFIG).start().await;
    let e = &rig.emulator;
    let (pem, _) = self_signed_for(&["shop.example.com"], 5);
    e.set_esa_hostname_certificate("shop.example.com", &pem);
    let (pem, _) = self_signed_for(&["www.last.example"], 80);
    e.set_esa_hostname_certificate("www.last.example", &pem);
    // Site pools: two certificates in the first site (one expired), one in the last.
    let (pem, _) = self_signed_for(&["example.com", "*.example.com"], 60);
    e.put_esa_certificate(SITE, "console-wild", &pem);
    let (pem, _) = self_signed_for(&["old.example.com"], -3);
    e.put_esa_certificate(SITE, "console-old", &pem);
    let (pem, _) = self_signed_for(&["last.example"], 20);
    e.put_esa_certificate(SITE + 500, "console-last", &pem);

    let before = e.state().calls.len();
    let run = rig.run(&["scan", "--json"]).await;
    assert_eq!(run.exit, 0, "{}\n{}", run.stdout, run.stderr);
    let scan = &run.json["scan"];
    let saas = rows(scan, "esa-saas");
    let names: Vec<&str> = saas.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(
        names,
        [
            "1234567890000/shop.example.com",
            "1234567890500/www.last.example",
            "1234567890000/api.example.com",
        ],
        "{scan:#}"
    );
    let shop = &saas[0].1;
    assert_eq!(shop["health"], "expiring", "{shop:#}");
    assert!((4..=5).contains(&shop["days_left"].as_i64().unwrap()));
    assert_eq!(shop["names"], serde_json::json!(["shop.example.com"]));
    assert_eq!(shop["managed"], true);
    assert_eq!(shop["certificate"], "shop");
    assert_eq!(saas[1].1["health"], "valid");
    assert_eq!(saas[1].1["managed"], false);
    assert_eq!(saas[2].1["health"], "none");
    let kinds: Vec<&str> = scan["not_scanned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    // A site is a row per certificate of its pool, soonest end first.
    let pool = rows(scan, "esa");
    let held: Vec<(&str, &Value)> = pool
        .iter()
        .map(|(r, e)| (r.as_str(), &e["names"]))
        .collect();
    assert_eq!(
        held,
        [
            ("1234567890000", &serde_json::json!(["old.example.com"])),
            ("1234567890500", &serde_json::json!(["last.example"])),
            (
                "1234567890000",
                &serde_json::json!(["example.com", "*.example.com"])
            ),
        ],
        "{scan:#}"
    );
    assert_eq!(pool[0].1["health"], "expired");
    assert_eq!(pool[1].1["health"], "expiring");
    assert_eq!(pool[2].1["health"], "valid");
    assert!(!kinds.contains(&"esa-saas"), "{kinds:?}");
    assert!(!kinds.contains(&"esa"), "{kinds:?}");
    assert_eq!(scan["complete"], true, "{scan:#}");
    let calls = &e.state().calls[before..];
    let count = |a: &str| calls.iter().filter(|c| c.action == a).count();
    // 501 sites take two pages of 500, once for the pools and once for the SaaS hostnames.
    assert_eq!(count("ListSites"), 4);
    assert_eq!(count("ListCertificates"), 501);
    assert_eq!(count("GetCertificate"), 3);
    // One hostname listing per site, then each hostname's lookup and read.
    assert_eq!(count("ListCustomHostnames"), 501 + 3);
    assert_eq!(count("GetCustomHostname"), 3);
    assert!(calls.iter().all(|c| c.code.is_none()), "no call refused");
}

/// `init --from-scan` writes a SaaS hostname as the `esa-saas` target it was read as.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_from_scan_writes_saas_hostnames_as_esa_saas_targets() {
    let seed = Seed::default()
        .zone("example.com")
        .esa_site(SITE, "example.com")
        .esa_hostname(SITE, "api.example.com", None);
    let rig = Scenario::from_toml(seed, CONFIG).start().await;
    let (pem, _) = self_signed_for(&["api.example.com"], 40);
    rig.emulator
        .set_esa_hostname_certificate("api.example.com", &pem);
    let (text, config) = rig.init_from_scan().await;
    let certs = config["certificate"].as_array().unwrap();
    let api = certs
        .iter()
        .find(|c| {
            c["domains"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d.as_str() == Some("api.example.com"))
        })
        .unwrap_or_else(|| panic!("{text}"));
    let target = &api["targets"][0];
    assert_eq!(target["kind"].as_str(), Some("esa-saas"), "{text}");
    assert_eq!(target["site_id"].as_str(), Some("1234567890000"), "{text}");
    assert_eq!(
        target["hostname"].as_str(),
        Some("api.example.com"),
        "{text}"
    );
    assert_eq!(target["region"].as_str(), Some("cn-hangzhou"), "{text}");
}
