//! The `esa` and `esa-saas` kinds through the real binary, Pebble and the emulator's ESA:
//! deploy, read back, renew (a forced second run: the new serial is served, the superseded copy
//! alicert made is removed) and cleanup that never touches a certificate alicert did not make.
//! The site quota has its own tests: a free-plan site (2 custom certificates) holding one foreign
//! and one alicert certificate renews by removing alicert's first — and says so in the target's
//! `notes` — while a site full of foreign certificates is a clear error and nothing is removed.
mod support;
use support::emulator::EmulatorState;
use support::scenario::{Scenario, Target};

const SITE: u64 = 1_234_567_890_123;

fn self_signed(name: &str) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec![name.to_string()]).unwrap();
    params.self_signed(&key).unwrap().pem()
}

fn esa() -> Target {
    Target::toml(&format!(r#"{{ kind = "esa", site_id = {SITE} }}"#))
}

/// Serials of the site's certificates whose name is not `foreign`, i.e. alicert's.
fn alicert_serials(state: &EmulatorState) -> Vec<String> {
    state
        .esa_certs(SITE)
        .into_iter()
        .filter(|(name, _)| name.starts_with("alicert-www-"))
        .map(|(_, serial)| serial)
        .collect()
}

fn names(state: &EmulatorState) -> Vec<String> {
    state.esa_certs(SITE).into_iter().map(|(n, _)| n).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn esa_deploys_reads_back_renews_and_removes_only_its_own() {
    let rig = Scenario::new()
        .seed(|s| {
            s.zone("example.com")
                .esa_site(SITE, "example.com")
                .esa_site_quota(SITE, 3)
        })
        .certificate("www", &["www.example.com"])
        .target(esa())
        .start()
        .await;
    rig.emulator
        .put_esa_certificate(SITE, "console-legacy", &self_signed("legacy.example.com"));

    let first = rig.invoke("{}").await;
    let c = first.certificate_with("www", "issued");
    let serial = c.serial().to_string();
    let t = c.target(0);
    assert_eq!(
        (t.kind.as_str(), t.id.as_str(), t.status()),
        ("esa", "1234567890123", "deployed")
    );
    assert_eq!(t.serial(), serial);
    assert!(t.notes.is_empty(), "{t:?}");
    let state = rig.emulator.state();
    assert_eq!(alicert_serials(&state), vec![serial.clone()]);
    let ours = state
        .esa_site(SITE)
        .unwrap()
        .certificates
        .iter()
        .find(|c| c.cert_type == "cas")
        .unwrap()
        .clone();
    assert!(ours.cas_id.is_some() && ours.region.as_deref() == Some("cn-hangzhou"));

    // Read back: a status run sees the certificate on the site.
    let status = rig.invoke(r#"{"action":"status"}"#).await;
    let s = status.certificate_with("www", "up_to_date");
    assert_eq!(s.target(0).serial(), serial);

    let forced = rig.invoke(r#"{"force":true}"#).await;
    let c = forced.certificate_with("www", "renewed");
    let renewed = c.serial().to_string();
    assert_ne!(renewed, serial);
    assert_eq!(c.target(0).status(), "deployed");
    let state = rig.emulator.state();
    // The new one is served, the superseded one alicert made is gone, the foreign one stays.
    assert_eq!(alicert_serials(&state), vec![renewed.clone()]);
    assert!(names(&state).contains(&"console-legacy".to_string()));
    assert_eq!(state.calls_to("DeleteCertificate").len(), 1);
    // Its CAS copy is retired too, now that nothing uses it.
    assert!(!state.cas_certs.iter().any(|c| c.info.serial_no == serial));
    assert!(state.cas_certs.iter().any(|c| c.info.serial_no == renewed));
    // The quota was never in the way (3 slots).
    assert_eq!(state.esa_site(SITE).unwrap().refused_quota, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_free_plan_site_renews_by_removing_alicerts_superseded_certificate_first() {
    // Free plan: the default quota of 2, one foreign certificate already there.
    let rig = Scenario::new()
        .seed(|s| s.zone("example.com").esa_site(SITE, "example.com"))
        .certificate("www", &["www.example.com"])
        .target(esa())
        .start()
        .await;
    rig.emulator
        .put_esa_certificate(SITE, "console-legacy", &self_signed("legacy.example.com"));
    let first = rig.invoke("{}").await;
    let old = first.certificate_with("www", "issued").serial().to_string();
    let state = rig.emulator.state();
    assert_eq!(state.esa_certs(SITE).len(), 2, "the pool is full now");
    let old_name = state
        .esa_certs(SITE)
        .into_iter()
        .find(|(_, s)| *s == old)
        .unwrap()
        .0;

    let calls_before = state.calls.len();
    let forced = rig.invoke(r#"{"force":true}"#).await;
    let c = forced.certificate_with("www", "renewed");
    let new = c.serial().to_string();
    let t = c.target(0);
    assert_eq!(t.status(), "deployed");
    assert_eq!(t.notes.len(), 1, "{t:?}");
    assert!(
        t.notes[0].contains("quota was full") && t.notes[0].contains(&old_name),
        "{:?}",
        t.notes
    );
    let state = rig.emulator.state();
    assert_eq!(alicert_serials(&state), vec![new]);
    assert!(names(&state).contains(&"console-legacy".to_string()));
    // Refused once, alicert's own removed, then the upload went through.
    let later = |action: &str| -> Vec<support::emulator::Call> {
        state.calls[calls_before..]
            .iter()
            .filter(|c| c.action == action)
            .cloned()
            .collect()
    };
    let sets = later("SetCertificate");
    assert_eq!(sets.len(), 2, "{sets:#?}");
    assert_eq!(sets[0].code.as_deref(), Some("Certificate.OverQuota"));
    assert!(sets[1].code.is_none());
    let deletes = later("DeleteCertificate");
    assert_eq!(deletes.len(), 1);
    assert!(deletes[0].code.is_none());
    // The note is in the run's JSON as well, under the target.
    let json_notes = &forced.json["certificates"][0]["targets"][0]["notes"];
    assert_eq!(json_notes.as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_full_of_foreign_certificates_is_a_clear_error_and_nothing_is_removed() {
    let rig = Scenario::new()
        .seed(|s| s.zone("example.com").esa_site(SITE, "example.com"))
        .certificate("www", &["www.example.com"])
        .target(esa())
        .start()
        .await;
    for (name, domain) in [
        ("console-a", "a.example.com"),
        ("console-b", "b.example.com"),
    ] {
        rig.emulator
            .put_esa_certificate(SITE, name, &self_signed(domain));
    }
    let run = rig.invoke("{}").await;
    run.expect_exit(1);
    let c = run.result.certificate("www");
    assert_eq!(c.status(), "failed");
    let t = c.target(0);
    assert_eq!(t.status(), "failed");
    let message = &t.error().message;
    assert!(
        message.contains("quota is full")
            && message.contains("console-a")
            && message.contains("console-b")
            && message.contains("only removes certificates it uploaded"),
        "{message}"
    );
    assert!(t.notes.is_empty());
    let state = rig.emulator.state();
    assert_eq!(
        names(&state),
        vec!["console-a".to_string(), "console-b".to_string()]
    );
    assert!(state.calls_to("DeleteCertificate").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn esa_saas_deploys_waits_for_configuring_renews_and_keeps_the_record() {
    let rig = Scenario::new()
        .seed(|s| {
            s.zone("example.com")
                .esa_site(SITE, "example.com")
                .esa_hostname(SITE, "shop.example.com", Some(555))
                .esa_hostname(SITE, "blog.example.com", None)
                .esa_hostname_ms(400)
        })
        .certificate("www", &["shop.example.com"])
        .target(Target::toml(&format!(
            r#"{{ kind = "esa-saas", site_id = "{SITE}", hostname = "shop.example.com" }}"#
        )))
        .start()
        .await;
    let (foreign_cert, foreign_key) = {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["shop.example.com".to_string()]).unwrap();
        (params.self_signed(&key).unwrap().pem(), key.serialize_pem())
    };
    let foreign = rig
        .emulator
        .put_cas_certificate("someone-elses", &foreign_cert, &foreign_key);

    let first = rig.invoke("{}").await;
    let c = first.certificate_with("www", "issued");
    let serial = c.serial().to_string();
    let t = c.target(0);
    assert_eq!(
        (t.kind.as_str(), t.id.as_str()),
        ("esa-saas", "1234567890123/shop.example.com")
    );
    assert_eq!(t.status(), "deployed");
    let state = rig.emulator.state();
    let h = state.esa_hostname("shop.example.com").unwrap();
    assert!(
        h.job.is_none(),
        "alicert returned while the hostname was configuring"
    );
    assert_eq!(h.served.info.as_ref().unwrap().serial_no, serial);
    assert_eq!(h.served.cert_type.as_deref(), Some("cas"));
    assert_eq!((h.record_id, h.record_dropped), (Some(555), 0));
    // The other hostname is not touched.
    assert!(state
        .esa_hostname("blog.example.com")
        .unwrap()
        .served
        .cert
        .is_none());

    let forced = rig.invoke(r#"{"force":true}"#).await;
    let renewed = forced
        .certificate_with("www", "renewed")
        .serial()
        .to_string();
    assert_ne!(renewed, serial);
    let state = rig.emulator.state();
    let h = state.esa_hostname("shop.example.com").unwrap();
    assert_eq!(h.served.info.as_ref().unwrap().serial_no, renewed);
    assert_eq!((h.record_id, h.record_dropped), (Some(555), 0));
    assert_eq!(state.calls_to("UpdateCustomHostname").len(), 2);
    // The superseded CAS copy alicert made is gone; the foreign CAS certificate stays.
    assert!(!state.cas_certs.iter().any(|c| c.info.serial_no == serial));
    assert!(state.cas_certs.iter().any(|c| c.cert_id == foreign));
}
