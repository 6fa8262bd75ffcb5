//! `fc2`: FC 2.0 custom domains through Pebble and the emulator — the account id read with STS
//! GetCallerIdentity, Get/UpdateCustomDomain under `/2021-04-06/` (V3-signed, x-acs-version
//! 2021-04-06), HTTPS turned on, regional domains, renewal; other domains untouched.
mod support;

use support::emulator::Seed;
use support::scenario::{Scenario, Target};

fn scenario() -> Scenario {
    Scenario::new()
        .seed(|s| {
            s.zone("example.com")
                .fc_domain("api.example.com")
                .fc_domain_in("eu.example.com", "eu-central-1")
                .fc_domain("other.example.com")
        })
        .certificate("api", &["api.example.com", "eu.example.com"])
        .target(Target::toml(
            r#"{ kind = "fc2", domain = "api.example.com" }"#,
        ))
        .target(Target::toml(
            r#"{ kind = "fc2", domain = "eu.example.com", region = "eu-central-1" }"#,
        ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fc2_domains_get_the_certificate_and_renew() {
    let rig = scenario().start().await;
    let first = rig.invoke("{}").await;
    first.expect_exit(0);
    let c = first.certificate_with("api", "issued");
    let labels: Vec<String> = c.targets.iter().map(|t| t.label()).collect();
    assert_eq!(labels, ["fc2 api.example.com", "fc2 eu.example.com"]);
    let serial = c.serial().to_string();
    let state = rig.emulator.state();
    for d in ["api.example.com", "eu.example.com"] {
        assert_eq!(state.fc_cert(d).unwrap().info.serial_no, serial, "{d}");
    }
    let domains = &state.services.fc_domains;
    for d in domains.iter().filter(|d| d.domain != "other.example.com") {
        assert_eq!(d.protocol, "HTTP,HTTPS", "{}", d.domain);
    }
    assert!(state.fc_cert("other.example.com").is_none());
    // Every FC call went to FC 2.0's API and succeeded; the account id came from STS.
    let updates = state.calls_to("UpdateCustomDomain");
    assert_eq!(updates.len(), 2);
    for call in updates
        .iter()
        .chain(state.calls_to("GetCustomDomain").iter())
    {
        assert_eq!((call.product.as_str(), call.http_status), ("fc2", 200));
    }
    assert!(!state.calls_to("GetCallerIdentity").is_empty());

    let forced = rig.invoke(r#"{"force":true}"#).await;
    forced.expect_exit(0);
    let serial2 = forced
        .certificate_with("api", "renewed")
        .serial()
        .to_string();
    assert_ne!(serial2, serial);
    let state = rig.emulator.state();
    for d in ["api.example.com", "eu.example.com"] {
        assert_eq!(state.fc_cert(d).unwrap().info.serial_no, serial2, "{d}");
    }
    assert!(state.fc_cert("other.example.com").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_domain_in_another_region_is_not_found_without_its_region() {
    let rig = Scenario::new()
        .seed(|s: Seed| {
            s.zone("example.com")
                .fc_domain_in("eu.example.com", "eu-central-1")
        })
        .certificate("eu", &["eu.example.com"])
        .target(Target::toml(
            r#"{ kind = "fc2", domain = "eu.example.com" }"#,
        ))
        .start()
        .await;
    let out = rig.invoke("{}").await;
    let c = out.certificate("eu");
    assert_eq!(c.status(), "failed");
    assert_eq!(c.target(0).error().code, "DomainNameNotFound");
    assert!(rig
        .emulator
        .state()
        .calls_to("UpdateCustomDomain")
        .is_empty());
}
