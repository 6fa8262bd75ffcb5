//! `waf` through the real binary, Pebble and the emulator's WAF 3.0, both modes: a CNAME-access
//! domain (ModifyDomain keeps every other Listen/Redirect setting as read) and a cloud-native
//! port (ModifyCloudResourceCert keeps the extension certificates), each deployed, read back,
//! renewed (the new serial served, alicert's superseded CAS copy removed) with someone else's
//! certificates left alone. Writes keep the resource "being modified" for a while; alicert
//! returns only once they have applied.
mod support;
use serde_json::Value;
use support::emulator::EmulatorState;
use support::scenario::{Scenario, Target};

const INSTANCE: &str = "waf_v3prepaid_public_cn-emu0001";

fn self_signed(name: &str) -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec![name.to_string()]).unwrap();
    (params.self_signed(&key).unwrap().pem(), key.serialize_pem())
}

/// The serial of the CAS certificate a WAF certificate id (`<CertId>-<region>`) names.
fn serial_of(state: &EmulatorState, id: &str) -> String {
    let n: u64 = id.split('-').next().unwrap().parse().unwrap();
    let c = state.cas_certs.iter().find(|c| c.cert_id == n).unwrap();
    c.info.serial_no.clone()
}

fn without_cert_id(listen: &serde_json::Map<String, Value>) -> serde_json::Map<String, Value> {
    let mut l = listen.clone();
    l.remove("CertId");
    l
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cname_domain_deploys_keeps_its_settings_and_renews() {
    let rig = Scenario::new()
        .seed(|s| {
            s.zone("example.com")
                .waf_instance("cn-hangzhou", INSTANCE)
                .waf_domain("www.example.com", "cn-hangzhou")
                .waf_job_ms(1500)
        })
        .certificate("www", &["www.example.com"])
        .target(Target::toml(
            r#"{ kind = "waf", domain = "www.example.com" }"#,
        ))
        .start()
        .await;
    let before = rig
        .emulator
        .state()
        .waf_domain("www.example.com")
        .unwrap()
        .clone();
    let (own, own_key) = self_signed("www.example.com");
    let foreign = rig
        .emulator
        .put_cas_certificate("www-manual", &own, &own_key);

    let first = rig.invoke("{}").await;
    let c = first.certificate_with("www", "issued");
    assert_eq!(c.target(0).label(), "waf www.example.com");
    assert_eq!(c.target(0).status(), "deployed");
    let state = rig.emulator.state();
    let d = state.waf_domain("www.example.com").unwrap();
    let cert_id = d.listen["CertId"].as_str().unwrap().to_string();
    assert!(cert_id.ends_with("-cn-hangzhou"), "{cert_id}");
    assert_eq!(serial_of(&state, &cert_id), c.serial());
    // Every other setting exactly as it was, in both halves of the configuration.
    assert_eq!(without_cert_id(&d.listen), without_cert_id(&before.listen));
    assert_eq!(d.redirect, before.redirect);
    // alicert waited for the change to apply before reporting it deployed.
    assert!(
        d.busy_until_ms <= now_ms(),
        "returned while WAF was still modifying"
    );
    assert_eq!(state.waf.refused_busy, 0);

    let status = rig.invoke(r#"{"action":"status"}"#).await;
    assert_eq!(
        status.ok().certificate("www").target(0).status(),
        "up_to_date"
    );

    let forced = rig.invoke(r#"{"force":true}"#).await;
    let renewed = forced.certificate_with("www", "renewed");
    assert_ne!(renewed.serial(), c.serial());
    let state = rig.emulator.state();
    let d = state.waf_domain("www.example.com").unwrap();
    let new_id = d.listen["CertId"].as_str().unwrap();
    assert_eq!(serial_of(&state, new_id), renewed.serial());
    assert_eq!(d.redirect, before.redirect);
    let old = cert_id.split('-').next().unwrap().parse::<u64>().unwrap();
    assert!(
        !state.cas_certs.iter().any(|c| c.cert_id == old),
        "the superseded copy alicert made is removed"
    );
    assert!(state.cas_certs.iter().any(|c| c.cert_id == foreign));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloud_resource_port_gets_the_default_and_keeps_its_extensions() {
    let rig = Scenario::new()
        .seed(|s| {
            s.zone("example.com")
                .waf_instance("ap-southeast-1", "waf-intl-1")
                .waf_port("clb7", "lb-intl", 443, "ap-southeast-1")
        })
        .certificate("www", &["www.example.com"])
        .target(Target::toml(
            r#"{ kind = "waf", mode = "cloud-resource", resource_product = "clb7", resource_instance_id = "lb-intl", port = 443, region = "ap-southeast-1" }"#,
        ))
        .start()
        .await;
    // Someone's default certificate (for a name the certificate lacks) and an extension
    // certificate for another site.
    let (a, a_key) = self_signed("legacy.example.com");
    let (b, b_key) = self_signed("shop.example.org");
    let theirs = rig.emulator.put_cas_certificate("console-www", &a, &a_key);
    let extension = rig.emulator.put_cas_certificate("console-shop", &b, &b_key);
    let ext_id = format!("{extension}-cn-hangzhou");
    rig.emulator.set_waf_port_certificates(
        "lb-intl",
        443,
        &[
            ("default", &format!("{theirs}-cn-hangzhou")),
            ("extension", &ext_id),
        ],
    );

    // Not alicert's (by its CAS name) and not due by its own dates: drift, left in place
    // (README "Drift"), however different its names.
    let first = rig.invoke("{}").await;
    let kept = first.certificate_with("www", "up_to_date");
    assert_eq!(kept.target(0).drift().action, "skipped", "{kept:?}");
    let default = format!("{theirs}-cn-hangzhou");
    let port = rig
        .emulator
        .state()
        .waf_port("lb-intl", 443)
        .unwrap()
        .clone();
    assert_eq!(port.certificates[0], ("default".to_string(), default));

    // `force` hands the port to alicert. "renewed": the port served a certificate already.
    let first = rig.invoke(r#"{"force":true}"#).await;
    let c = first.certificate_with("www", "renewed");
    assert_eq!(c.target(0).label(), "waf clb7/lb-intl:443");
    assert_eq!(c.target(0).drift().action, "replaced");
    let state = rig.emulator.state();
    let port = state.waf_port("lb-intl", 443).unwrap();
    assert_eq!(port.certificates.len(), 2, "{:?}", port.certificates);
    assert_eq!(port.certificates[0].0, "default");
    let ours = port.certificates[0].1.clone();
    assert_eq!(serial_of(&state, &ours), c.serial());
    assert_eq!(
        port.certificates[1],
        ("extension".to_string(), ext_id.clone())
    );
    assert!(port.busy_until_ms <= now_ms());

    let forced = rig.invoke(r#"{"force":true}"#).await;
    let renewed = forced.certificate_with("www", "renewed");
    let state = rig.emulator.state();
    let port = state.waf_port("lb-intl", 443).unwrap();
    assert_eq!(serial_of(&state, &port.certificates[0].1), renewed.serial());
    assert_eq!(port.certificates[1], ("extension".to_string(), ext_id));
    let old: u64 = ours.split('-').next().unwrap().parse().unwrap();
    assert!(!state.cas_certs.iter().any(|c| c.cert_id == old));
    // The certificate alicert replaced was not alicert's: it stays in CAS, as does the extension.
    assert!(state.cas_certs.iter().any(|c| c.cert_id == theirs));
    assert!(state.cas_certs.iter().any(|c| c.cert_id == extension));
    // Every WAF call went to the instance's own region.
    for call in state.calls.iter().filter(|c| c.product == "waf-openapi") {
        assert_eq!(
            call.params.get("RegionId").map(String::as_str),
            Some("ap-southeast-1"),
            "{call:?}"
        );
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}
