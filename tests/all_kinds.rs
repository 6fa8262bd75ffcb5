//! Issue 13's "done means": one certificate deployed in one run to every target kind alicert
//! has — the first nine and ESA, ESA SaaS, cloud-native API Gateway, NLB, WAF (both modes),
//! Global Accelerator, Live, VOD, Anti-DDoS, FC 2.0 and CAS deployment jobs — through Pebble
//! and the emulator, with the credentials restricted to exactly `alicert policy`'s output for the
//! config; then a status run reads every one of them back.
mod support;

use std::collections::BTreeSet;

use support::emulator::Seed;
use support::scenario::Scenario;

const SITE: u64 = 1234567890123;

fn seed() -> Seed {
    Seed::default()
        .zone("example.com")
        // The first nine kinds (as in tests/targets.rs).
        .cdn_domain("www.example.com")
        .dcdn_domain("www.example.com")
        .apigateway_domain("grp1", "www.example.com")
        .slb_listener("lb-1", 443)
        .slb_domain_extension("de-1", "lb-1", 443, "www.example.com")
        .alb_listener("lsn-1")
        .alb_listener("lsn-2")
        .fc_domain("www.example.com")
        .bucket("web")
        .oss_cname("web", "www.example.com")
        // Issue 13's kinds.
        .esa_site(SITE, "example.com")
        .esa_site_quota(SITE, 3)
        .esa_hostname(SITE, "shop.example.com", Some(555))
        .apig_domain("www.example.com")
        .nlb_listener("lsn-n1")
        .nlb_listener("lsn-n2")
        .waf_instance("cn-hangzhou", "waf-cn-1")
        .waf_domain("www.example.com", "cn-hangzhou")
        .waf_instance("ap-southeast-1", "waf-intl-1")
        .waf_port("clb7", "lb-intl", 443, "ap-southeast-1")
        .ga_listener("lsr-g1", "ga-acc1")
        .ga_listener("lsr-g2", "ga-acc2")
        .live_domain("www.example.com")
        .vod_domain("www.example.com")
        .ddos_domain("www.example.com", "cn-hangzhou")
        // FC 2.0 and FC 3 share the account's custom domains: FC 2.0 gets its own.
        .fc_domain("api.example.com")
        .cas_contact(1)
        .cloud_resource(1001, "SAE", "www.example.com")
}

const CONFIG: &str = r#"
[[certificate]]
name = "www"
domains = ["www.example.com", "shop.example.com", "api.example.com"]
targets = [
  { kind = "cas" },
  { kind = "cdn", domain = "www.example.com" },
  { kind = "dcdn", domain = "www.example.com" },
  { kind = "apigateway", group_id = "grp1", domain = "www.example.com" },
  { kind = "slb", load_balancer_id = "lb-1", listener_port = 443 },
  { kind = "slb", load_balancer_id = "lb-1", domain_extension_id = "de-1" },
  { kind = "alb", listener_id = "lsn-1" },
  { kind = "alb", listener_id = "lsn-2", certificate = "additional" },
  { kind = "oss", bucket = "web", domain = "www.example.com" },
  { kind = "fc", domain = "www.example.com" },
  { kind = "oss-bundle", bucket = "alicert-state", prefix = "bundles" },
  { kind = "esa", site_id = 1234567890123 },
  { kind = "esa-saas", site_id = 1234567890123, hostname = "shop.example.com" },
  { kind = "apig", domain = "www.example.com" },
  { kind = "nlb", listener_id = "lsn-n1" },
  { kind = "nlb", listener_id = "lsn-n2", certificate = "additional" },
  { kind = "waf", domain = "www.example.com" },
  { kind = "waf", mode = "cloud-resource", resource_product = "clb7", resource_instance_id = "lb-intl", port = 443, region = "ap-southeast-1" },
  { kind = "ga", listener_id = "lsr-g1" },
  { kind = "ga", listener_id = "lsr-g2", certificate = "additional" },
  { kind = "live", domain = "www.example.com" },
  { kind = "vod", domain = "www.example.com" },
  { kind = "ddos", domain = "www.example.com" },
  { kind = "fc2", domain = "api.example.com" },
  { kind = "cas-deploy", resource_ids = [1001] },
]
"#;

/// Every kind alicert knows (SPEC's list); the run must have reached each.
const KINDS: [&str; 20] = [
    "cas",
    "cdn",
    "dcdn",
    "apigateway",
    "slb",
    "alb",
    "oss",
    "fc",
    "oss-bundle",
    "esa",
    "esa-saas",
    "apig",
    "nlb",
    "waf",
    "ga",
    "live",
    "vod",
    "ddos",
    "fc2",
    "cas-deploy",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_certificate_reaches_every_kind_in_one_run_and_each_reads_back() {
    let rig = Scenario::from_toml(seed(), CONFIG).start().await;
    // Least privilege: the credentials may do exactly what `alicert policy` says this config
    // needs (issue 14); the emulator refuses anything else.
    rig.restrict_to_policy();
    let first = rig.invoke("{}").await;
    let c = first.certificate_with("www", "issued");
    assert_eq!(c.targets.len(), 25, "{}", first.stdout);
    let serial = c.serial().to_string();
    for t in &c.targets {
        assert_eq!(
            (t.status(), t.serial()),
            ("deployed", serial.as_str()),
            "{} {}: {}",
            t.kind,
            t.id,
            first.stdout
        );
    }
    let reached: BTreeSet<&str> = c.targets.iter().map(|t| t.kind.as_str()).collect();
    assert_eq!(reached, KINDS.into_iter().collect::<BTreeSet<_>>());
    // The emulator's own view for a few of the new kinds (each kind's own test checks more).
    let state = rig.emulator.state();
    let cas_id = state.cas_certs[0].cert_id;
    assert_eq!(
        state.cas_certs.len(),
        1,
        "one CAS copy serves every CAS-id kind"
    );
    assert_eq!(
        state.cloud_resource(1001).unwrap().cert_id,
        Some(cas_id),
        "the deployment job ran"
    );

    // A status run reads every target back: each serves the new serial, none is due, and
    // every kind knows what alicert deployed as alicert's (no drift; src/drift.rs).
    let status = rig.invoke(r#"{"action":"status"}"#).await;
    let s = status.certificate_with("www", "up_to_date");
    assert_eq!(s.targets.len(), 25);
    for t in &s.targets {
        assert_eq!(
            (t.status(), t.serial(), &t.drift),
            ("up_to_date", serial.as_str(), &None),
            "{} {}: {}",
            t.kind,
            t.id,
            status.stdout
        );
    }
}
