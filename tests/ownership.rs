//! Ownership by exact name: certificates whose names prefix each other (`www` / `www-api`, and a
//! 37-character name / a 40-character one that CAS's 63-character limit forces alicert to
//! shorten) each keep, replace and clean up only their own CAS copies, SLB server certificates
//! and ALB additional certificates, across renewals — through the real binary, Pebble and the
//! emulator. alicert used to match `starts_with("alicert-www-")`, so `www` took `www-api`'s CAS
//! copy for its own and deleted it; and a long name made an upload name CAS refuses.
mod support;
use support::scenario::Scenario;

use std::collections::BTreeSet;

use alicert::naming;
use support::emulator::{EmulatorState, Seed};

/// (certificate name, domain, SLB load balancer) of each certificate in a test.
type Cert = (&'static str, &'static str, &'static str);

fn config(certs: &[Cert], alb: bool) -> String {
    let mut out = String::new();
    for (name, domain, lb) in certs {
        let alb_target = if alb {
            r#"  { kind = "alb", listener_id = "lsn-1", certificate = "additional" },
"#
        } else {
            ""
        };
        out.push_str(&format!(
            r#"
[[certificate]]
name = "{name}"
domains = ["{domain}"]
targets = [
  {{ kind = "cas" }},
  {{ kind = "slb", load_balancer_id = "{lb}", listener_port = 443 }},
{alb_target}]
"#
        ));
    }
    out
}

fn seed(certs: &[Cert]) -> Seed {
    let mut s = Seed::default().zone("example.com").alb_listener("lsn-1");
    for (_, _, lb) in certs {
        s = s.slb_listener(lb, 443);
    }
    s
}

/// After a run: every certificate has exactly its current serial everywhere, under its own
/// exact upload name, and nothing else of alicert's is left.
fn check_state(state: &EmulatorState, certs: &[Cert], serials: &[String], alb: bool) {
    let want_names: BTreeSet<String> = certs
        .iter()
        .zip(serials)
        .map(|((name, ..), serial)| naming::upload_name(name, serial))
        .collect();
    let cas_names: BTreeSet<String> = state.cas_certs.iter().map(|c| c.name.clone()).collect();
    assert_eq!(
        cas_names, want_names,
        "CAS holds exactly the current copies"
    );
    for ((name, _, lb), serial) in certs.iter().zip(serials) {
        let copy = state
            .cas_cert_named(&naming::upload_name(name, serial))
            .unwrap_or_else(|| panic!("no CAS copy for {name}"));
        assert_eq!(&copy.info.serial_no, serial, "{name}'s CAS copy");
        assert!(copy.name.len() <= 63, "{}", copy.name);
        assert!(naming::is_upload_of(name, &copy.name));
        let served = state
            .slb_listener_cert(lb, 443)
            .unwrap_or_else(|| panic!("{lb} serves nothing"));
        assert_eq!(&served.serial_no, serial, "{name} on {lb}");
    }
    // One SLB server certificate per certificate, each made from that certificate's CAS copy.
    assert_eq!(state.services.slb_server_certs.len(), certs.len());
    for sc in &state.services.slb_server_certs {
        assert!(
            want_names.contains(&sc.name),
            "stray server certificate {}",
            sc.name
        );
        assert!(sc.name.len() <= 80 && sc.name.starts_with(|c: char| c.is_ascii_alphabetic()));
    }
    if alb {
        let got: BTreeSet<&String> = state
            .alb_additional_certs("lsn-1")
            .iter()
            .map(|c| &c.serial_no)
            .collect();
        let want: BTreeSet<&String> = serials.iter().collect();
        assert_eq!(got, want, "ALB additional certificates");
    }
}

async fn renew_twice_and_check(certs: &[Cert], alb: bool) {
    let rig = Scenario::from_toml(seed(certs), &config(certs, alb))
        .start()
        .await;
    let mut previous: Vec<String> = Vec::new();
    for (round, event) in ["{}", r#"{"force":true}"#, r#"{"force":true}"#]
        .into_iter()
        .enumerate()
    {
        let run = rig.invoke(event).await;
        let result = run.ok();
        let mut serials = Vec::new();
        for (name, ..) in certs {
            let c = result.certificate(name);
            let want = if round == 0 { "issued" } else { "renewed" };
            assert_eq!(c.status, want, "round {round}: {result:?}");
            for t in &c.targets {
                assert_eq!(t.status, "deployed", "round {round}: {t:?}");
            }
            serials.push(c.serial().to_string());
        }
        for (old, new) in previous.iter().zip(&serials) {
            assert_ne!(old, new, "round {round} renewed");
        }
        let state = rig.emulator.state();
        check_state(&state, certs, &serials, alb);
        // Nothing alicert asked to delete was refused: each run deleted only superseded copies
        // of its own, none still in use.
        for action in ["DeleteUserCertificate", "DeleteServerCertificate"] {
            for call in state.calls_to(action) {
                assert!(call.code.is_none(), "round {round}: {call:?}");
            }
        }
        previous = serials;
    }
    let state = rig.emulator.state();
    // Two renewals of each certificate: two superseded CAS copies and SLB server certificates
    // deleted per certificate, no more.
    let ok_calls = |a: &str| {
        state
            .calls_to(a)
            .iter()
            .filter(|c| c.code.is_none())
            .count()
    };
    assert_eq!(ok_calls("DeleteUserCertificate"), 2 * certs.len());
    assert_eq!(ok_calls("DeleteServerCertificate"), 2 * certs.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn www_and_www_api_keep_to_their_own_copies() {
    renew_twice_and_check(
        &[
            ("www", "www.example.com", "lb-1"),
            ("www-api", "api.example.com", "lb-2"),
        ],
        true,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_names_that_prefix_each_other_fit_cas_and_keep_to_their_own_copies() {
    let short = "customer-portal-eu-central-production";
    let long = "customer-portal-eu-central-production-xy";
    assert_eq!((short.len(), long.len()), (37, 40));
    // The 40-character name cannot be used as it is: its upload name is shortened to 63.
    assert_eq!(naming::upload_name(long, "1").len(), 63);
    assert!(format!("alicert-{long}-0000000000000001").len() > 63);
    renew_twice_and_check(
        &[
            (short, "portal.example.com", "lb-1"),
            (long, "eu.example.com", "lb-2"),
        ],
        false,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn www_and_www_api_keep_to_their_own_copies_without_a_shared_listener() {
    // No shared ALB listener whose references would shield the other certificate's copies:
    // only the exact name keeps `www` from `www-api`'s.
    renew_twice_and_check(
        &[
            ("www", "www.example.com", "lb-1"),
            ("www-api", "api.example.com", "lb-2"),
        ],
        false,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oss_bundles_and_run_locks_are_per_exact_name() {
    // Bundles live under `<prefix>/<name>/` and locks at `<folder>/locks/<name>.lock`: a
    // certificate's name is one whole path segment (names cannot hold `/`), so `www` never
    // reads, overwrites or unlocks `www-api`'s objects.
    let config = r#"
[[certificate]]
name = "www"
domains = ["www.example.com"]
targets = [{ kind = "oss-bundle", bucket = "alicert-state", prefix = "bundles" }]

[[certificate]]
name = "www-api"
domains = ["api.example.com"]
targets = [{ kind = "oss-bundle", bucket = "alicert-state", prefix = "bundles" }]
"#;
    let rig = Scenario::new()
        .seed(|s| s.zone("example.com"))
        .config(config)
        .start()
        .await;
    for event in ["{}", r#"{"force":true}"#] {
        let run = rig.invoke(event).await;
        let result = run.ok();
        let state = rig.emulator.state();
        for name in ["www", "www-api"] {
            let serial = result.certificate(name).serial().to_string();
            let pem = state
                .object(
                    support::rig::BUCKET,
                    &format!("bundles/{name}/fullchain.pem"),
                )
                .and_then(|o| o.text().map(str::to_string))
                .unwrap_or_else(|| panic!("no bundle for {name}"));
            let info = support::emulator::parse_cert(&pem).unwrap();
            assert_eq!(info.serial_no, serial, "{name}'s bundle");
        }
        // Each run locked and unlocked exactly one object per certificate, named after it.
        let lock_keys = |action: &str| -> BTreeSet<String> {
            state
                .calls_to(action)
                .iter()
                .filter_map(|c| c.params.get("key"))
                .filter(|k| k.ends_with(".lock"))
                .cloned()
                .collect()
        };
        let want: BTreeSet<String> = ["acme/locks/www.lock", "acme/locks/www-api.lock"]
            .into_iter()
            .map(String::from)
            .collect();
        assert_eq!(lock_keys("PutObject"), want);
        assert_eq!(lock_keys("DeleteObject"), want);
        assert!(
            state
                .oss_objects
                .values()
                .all(|o| !o.key.ends_with(".lock")),
            "a lock was left behind"
        );
    }
}
