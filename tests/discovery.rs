//! `domains = "covered"`: alicert lists the account's CDN/DCDN domains (every page) and deploys
//! to exactly those the certificate's names cover, each its own target; config errors name the
//! key; a listing that fails is one failed target, a listing that covers nothing a note.
mod support;

use support::emulator::Seed;
use support::rig::{run, AK_ID, AK_SECRET};
use support::scenario::{Scenario, Target};

/// Uncovered CDN domains enough for three pages of 500 (the SDK's PageSize maximum).
const FILLER: usize = 1100;

/// CDN domains the certificate `example.com` + `*.example.com` covers (name order).
const COVERED: [&str; 4] = [
    "*.example.com",
    "a.example.com",
    "example.com",
    "www.example.com",
];

/// And ones it does not: two labels under the wildcard, another zone, a look-alike.
const UNCOVERED: [&str; 4] = [
    "a.b.example.com",
    "*.a.example.com",
    "example.org",
    "badexample.com",
];

fn seed() -> Seed {
    let mut seed = Seed::default().zone("example.com");
    for d in COVERED.iter().chain(UNCOVERED.iter()) {
        seed = seed.cdn_domain(d);
    }
    for i in 0..FILLER {
        seed = seed.cdn_domain(&format!("d{i:04}.example.net"));
    }
    seed.dcdn_domain("www.example.com")
        .dcdn_domain("static.example.org")
}

fn scenario(targets: &[&str]) -> Scenario {
    let mut s = Scenario::new()
        .seed(|_| seed())
        .certificate("site", &["example.com", "*.example.com"]);
    for t in targets {
        s = s.target(Target::toml(t));
    }
    s
}

fn foreign_cert(name: &str) -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let pem = rcgen::CertificateParams::new(vec![name.to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap()
        .pem();
    (pem, key.serialize_pem())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn covered_domains_over_several_pages_each_get_the_certificate_and_renew() {
    let rig = scenario(&[r#"{ kind = "cdn", domains = "covered" }"#])
        .start()
        .await;
    // A certificate someone else put on an uncovered domain stays as it is.
    let (foreign, foreign_key) = foreign_cert("a.b.example.com");
    rig.emulator
        .set_cdn_certificate("a.b.example.com", &foreign, &foreign_key);

    let first = rig.invoke("{}").await;
    first.expect_exit(0);
    let c = first.certificate_with("site", "issued");
    let ids: Vec<String> = c.targets.iter().map(|t| t.label()).collect();
    let want: Vec<String> = COVERED.iter().map(|d| format!("cdn {d}")).collect();
    assert_eq!(ids, want, "{}", first.stdout);
    let serial = c.serial().to_string();
    for t in &c.targets {
        assert_eq!(
            (t.status(), t.serial()),
            ("deployed", serial.as_str()),
            "{t:?}"
        );
    }

    let state = rig.emulator.state();
    for d in COVERED {
        let served = state.cdn_cert(d).unwrap_or_else(|| panic!("{d}: nothing"));
        assert_eq!(served.info.serial_no, serial, "{d}");
        assert_eq!(served.cert_type, "cas", "{d}");
    }
    for d in UNCOVERED.iter().filter(|d| **d != "a.b.example.com") {
        assert!(state.cdn_cert(d).is_none(), "{d} got a certificate");
    }
    assert!(state.cdn_cert("d1099.example.net").is_none());
    let kept = state.cdn_cert("a.b.example.com").unwrap();
    assert_eq!(kept.cert, foreign, "the foreign certificate was touched");
    // Three pages of at most 500, in order.
    let pages: Vec<(Option<&str>, Option<&str>)> = state
        .calls_to("DescribeUserDomains")
        .iter()
        .map(|c| {
            (
                c.params.get("PageNumber").map(String::as_str),
                c.params.get("PageSize").map(String::as_str),
            )
        })
        .collect();
    assert_eq!(
        pages,
        [
            (Some("1"), Some("500")),
            (Some("2"), Some("500")),
            (Some("3"), Some("500"))
        ]
    );
    // Nothing written to an uncovered domain.
    for call in state.calls_to("SetCdnDomainSSLCertificate") {
        let d = call.params.get("DomainName").unwrap();
        assert!(COVERED.contains(&d.as_str()), "wrote to {d}");
    }

    // A second run finds them current; a forced one renews each and retires the old CAS copy.
    let second = rig.invoke("{}").await;
    second.expect_exit(0);
    assert_eq!(second.certificate("site").status(), "up_to_date");
    let forced = rig.invoke(r#"{"force":true}"#).await;
    forced.expect_exit(0);
    let f = forced.certificate_with("site", "renewed");
    let serial2 = f.serial().to_string();
    assert_ne!(serial2, serial);
    assert_eq!(f.targets.len(), COVERED.len());
    let state = rig.emulator.state();
    for d in COVERED {
        assert_eq!(state.cdn_cert(d).unwrap().info.serial_no, serial2, "{d}");
    }
    assert_eq!(state.cas_certs.len(), 1, "the superseded CAS copy is gone");
    assert_eq!(state.cdn_cert("a.b.example.com").unwrap().cert, foreign);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explicit_targets_keep_their_domain_and_dcdn_discovers_too() {
    let rig = scenario(&[
        r#"{ kind = "cdn", domain = "www.example.com" }"#,
        r#"{ kind = "dcdn", domains = "covered" }"#,
        r#"{ kind = "cdn", domains = "covered" }"#,
    ])
    .start()
    .await;
    let out = rig.invoke("{}").await;
    out.expect_exit(0);
    let c = out.certificate_with("site", "issued");
    let ids: Vec<String> = c.targets.iter().map(|t| t.label()).collect();
    // The explicit www target stays first and is not repeated by the discovering table.
    assert_eq!(
        ids,
        [
            "cdn www.example.com",
            "dcdn www.example.com",
            "cdn *.example.com",
            "cdn a.example.com",
            "cdn example.com",
        ],
        "{}",
        out.stdout
    );
    let state = rig.emulator.state();
    assert_eq!(
        state.dcdn_cert("www.example.com").unwrap().info.serial_no,
        c.serial()
    );
    assert!(state.dcdn_cert("static.example.org").is_none());
    assert_eq!(state.calls_to("DescribeDcdnUserDomains").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_failure_is_a_failed_target_and_nothing_covered_is_a_note() {
    let rig = scenario(&[
        r#"{ kind = "cas" }"#,
        r#"{ kind = "cdn", domains = "covered" }"#,
    ])
    .start()
    .await;
    rig.emulator
        .fail_next("DescribeUserDomains", "Forbidden.RAM", 403);
    let out = rig.invoke("{}").await;
    assert_ne!(out.exit, 0, "{}", out.stdout);
    let c = out.certificate("site");
    assert_eq!(c.status(), "failed");
    let failed = c
        .targets
        .iter()
        .find(|t| t.label() == "cdn domains=covered")
        .unwrap_or_else(|| panic!("no listing target: {c:?}"));
    assert_eq!(failed.status(), "failed");
    assert_eq!(failed.error().code, "Forbidden.RAM");
    let state = rig.emulator.state();
    assert!(state.calls_to("SetCdnDomainSSLCertificate").is_empty());
    assert!(state.calls_to("UploadUserCertificate").is_empty());

    // A DCDN account whose domains the certificate does not cover: the CAS target still gets
    // the certificate and the result says why DCDN got none.
    let rig = Scenario::new()
        .seed(|s| s.zone("example.com").dcdn_domain("static.example.org"))
        .certificate("site", &["example.com"])
        .target(Target::toml(r#"{ kind = "cas" }"#))
        .target(Target::toml(r#"{ kind = "dcdn", domains = "covered" }"#))
        .start()
        .await;
    let out = rig.invoke("{}").await;
    out.expect_exit(0);
    let c = out.certificate_with("site", "issued");
    assert_eq!(c.targets.len(), 1);
    assert!(
        c.notes
            .iter()
            .any(|n| n.starts_with("dcdn domains=covered: none of the 1 dcdn domains")),
        "{:?}",
        c.notes
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_config_errors_exit_2_before_any_call() {
    let emu = support::emulator::start(Seed::default().access_key(AK_ID, AK_SECRET)).await;
    let cases = [
        (
            r#"{ kind = "cdn", domains = "all" }"#,
            "`domains` must be the string \"covered\"",
        ),
        (
            r#"{ kind = "cdn", domains = "covered", domain = "www.example.com" }"#,
            "set either `domain` or `domains = \"covered\"`, not both",
        ),
        (
            r#"{ kind = "alb", domains = "covered", listener_id = "lsn-1" }"#,
            "not supported by kind `alb`",
        ),
        (
            r#"{ kind = "cdn", domains = "covered", regon = "x" }"#,
            "unknown key `regon`",
        ),
    ];
    for (target, want) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alicert.toml");
        std::fs::write(
            &path,
            format!(
                "[acme]\ndirectory = \"https://127.0.0.1:9/dir\"\naccount_key = \"oss://alicert-state/acme/account.pem\"\n\n[[certificate]]\nname = \"site\"\ndomains = [\"example.com\"]\ntargets = [{target}]\n"
            ),
        )
        .unwrap();
        let mut cmd = std::process::Command::new(support::rig::alicert_bin());
        cmd.env_clear()
            .env("ALICERT_CONFIG", &path)
            .env("ALIBABA_CLOUD_ACCESS_KEY_ID", AK_ID)
            .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", AK_SECRET)
            .env("ALICERT_ENDPOINT_CDN", emu.regional_url())
            .args(["invoke", "{}"]);
        let out = run(cmd).await;
        assert_eq!(out.exit, 2, "{target}: {}", out.stderr);
        let text = format!("{}{}", out.stdout, out.stderr);
        assert!(
            text.contains("targets[0]") && text.contains(want),
            "{target}: {text}"
        );
    }
    assert!(emu.state().calls.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fc_and_fc2_list_their_regions_custom_domains_page_by_page() {
    let mut seed = Seed::default()
        .zone("example.com")
        .fc_domain("api.example.com")
        .fc_domain("a.b.example.com")
        .fc_domain_in("eu.example.com", "eu-central-1")
        .fc_domain_in("eu.example.org", "eu-central-1");
    for i in 0..250 {
        seed = seed.fc_domain(&format!("f{i:03}.example.net"));
    }
    let rig = Scenario::new()
        .seed(|_| seed)
        .certificate("site", &["example.com", "*.example.com"])
        .target(Target::toml(r#"{ kind = "fc", domains = "covered" }"#))
        .target(Target::toml(
            r#"{ kind = "fc2", domains = "covered", region = "eu-central-1" }"#,
        ))
        .start()
        .await;
    let out = rig.invoke("{}").await;
    out.expect_exit(0);
    let c = out.certificate_with("site", "issued");
    let ids: Vec<String> = c.targets.iter().map(|t| t.label()).collect();
    assert_eq!(
        ids,
        ["fc api.example.com", "fc2 eu.example.com"],
        "{}",
        out.stdout
    );
    let state = rig.emulator.state();
    for d in ["api.example.com", "eu.example.com"] {
        assert_eq!(state.fc_cert(d).unwrap().info.serial_no, c.serial(), "{d}");
    }
    assert!(state.fc_cert("a.b.example.com").is_none());
    // FC 3: 252 domains in cn-hangzhou, three pages of 100 chained by nextToken.
    let fc3: Vec<_> = state
        .calls_to("ListCustomDomains")
        .into_iter()
        .filter(|c| c.product == "fc")
        .collect();
    assert_eq!(fc3.len(), 3);
    assert!(fc3
        .iter()
        .all(|c| c.params.get("limit").map(String::as_str) == Some("100")));
    assert!(!fc3[0].params.contains_key("nextToken"));
    assert!(fc3[1].params.contains_key("nextToken"));
}
