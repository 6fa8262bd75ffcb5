//! Every target kind, the CAS hub, verified rollout, the OSS bundle (PKCS#12 opened by the real
//! openssl) and notifications — through the real binary, Pebble and the emulator.
mod support;
use support::outcome::CertView;
use support::scenario::{cdn, Scenario, Target};

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use support::edge::{certified_key, edge};
use support::emulator::Seed;
use support::rig::{run, AK_SECRET, BUCKET};

const P12_PASSWORD: &str = "p12-Pass word/+=";

/// `("<kind> <id>", status)` of every target of `c`.
fn statuses(c: &CertView) -> Vec<(String, &str)> {
    c.targets
        .iter()
        .map(|t| (t.label(), t.status.as_str()))
        .collect()
}

fn all_targets_seed() -> Seed {
    Seed::default()
        .zone("example.com")
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
        .kms_secret("alicert/p12", P12_PASSWORD)
}

const ALL_TARGETS: &str = r#"
[[certificate]]
name = "www"
domains = ["www.example.com"]
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
  { kind = "oss-bundle", bucket = "alicert-state", prefix = "bundles", p12_password = "kms:alicert/p12" },
]
"#;

/// Every target's serial as the emulator sees it (not as alicert reports it).
fn deployed_serials(state: &support::emulator::EmulatorState) -> BTreeMap<&'static str, String> {
    let bundle = state
        .object(BUCKET, "bundles/www/cert.pem")
        .and_then(|o| o.text())
        .map(|t| support::emulator::parse_cert(t).unwrap().serial_no)
        .unwrap_or_default();
    let s = |o: Option<&support::emulator::CertInfo>| {
        o.map(|i| i.serial_no.clone()).unwrap_or_default()
    };
    BTreeMap::from([
        ("cdn", s(state.cdn_cert("www.example.com").map(|c| &c.info))),
        (
            "dcdn",
            s(state.dcdn_cert("www.example.com").map(|c| &c.info)),
        ),
        (
            "apigateway",
            s(state
                .apigateway_cert("grp1", "www.example.com")
                .map(|c| &c.info)),
        ),
        ("slb listener", s(state.slb_listener_cert("lb-1", 443))),
        ("slb extension", s(state.slb_extension_cert("de-1"))),
        ("alb default", s(state.alb_default_cert("lsn-1"))),
        (
            "alb additional",
            s(state.alb_additional_certs("lsn-2").first().copied()),
        ),
        (
            "oss cname",
            s(state
                .oss_cname_cert("web", "www.example.com")
                .map(|c| &c.info)),
        ),
        ("fc", s(state.fc_cert("www.example.com").map(|c| &c.info))),
        ("oss-bundle", bundle),
    ])
}

/// The base64 lines of a PEM private key's body.
fn key_body_lines(pem: &str) -> Vec<String> {
    pem.lines()
        .map(str::trim)
        // Short tail lines ("AB==") could match by chance; the full lines suffice.
        .filter(|l| l.len() >= 16 && !l.starts_with("-----"))
        .map(str::to_string)
        .collect()
}

/// The first line of `body` found in `text`, also with JSON/Debug escaping of `/` and `+`
/// taken into account (base64 lines hold no other character that gets escaped).
fn leaked<'a>(body: &'a [String], text: &str) -> Option<&'a str> {
    let unescaped = text.replace("\\/", "/").replace("\\u002b", "+");
    body.iter()
        .find(|line| text.contains(line.as_str()) || unescaped.contains(line.as_str()))
        .map(String::as_str)
}

/// `openssl pkcs12 -info -nokeys` on `p12` with `password`: (success, stdout + stderr).
fn openssl_pkcs12_info(p12: &[u8], password: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("certificate.p12");
    std::fs::write(&path, p12).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["pkcs12", "-info", "-nokeys", "-in"])
        .arg(&path)
        .arg("-passin")
        .arg(format!("pass:{password}"))
        .output()
        .expect("openssl is installed");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_certificate_reaches_every_target_kind_and_reads_back() {
    let rig = Scenario::from_toml(all_targets_seed(), ALL_TARGETS)
        .start()
        .await;
    let first = rig.invoke("{}").await;
    let c = first.certificate_with("www", "issued");
    assert_eq!(c.targets.len(), 11);
    for (target, status) in statuses(c) {
        assert_eq!(status, "deployed", "{target}: {}", first.stdout);
    }
    let serial = c.serial().to_string();
    for t in &c.targets {
        assert_eq!(t.serial(), serial.as_str(), "{t:?}");
    }
    let state = rig.emulator.state();
    for (target, s) in deployed_serials(&state) {
        assert_eq!(s, serial, "{target} holds another certificate");
    }
    // The hub uploaded to CAS exactly once; CDN, DCDN, SLB, ALB and OSS use that copy.
    assert_eq!(state.calls_to("UploadUserCertificate").len(), 1);
    assert_eq!(state.cas_certs.len(), 1);
    let cas = &state.cas_certs[0];
    assert!(cas.name.starts_with("alicert-www-"), "{}", cas.name);
    assert_eq!(state.cdn_cert("www.example.com").unwrap().cert_type, "cas");
    assert_eq!(state.dcdn_cert("www.example.com").unwrap().cert_type, "cas");
    assert_eq!(
        state.services.slb_server_certs[0]
            .ali_cloud_certificate_id
            .as_deref(),
        Some(cas.cert_id.to_string().as_str())
    );
    assert_eq!(
        state.services.slb_server_certs.len(),
        1,
        "one SLB server certificate for two SLB targets"
    );
    assert_eq!(
        state
            .alb_listener("lsn-1")
            .unwrap()
            .default_certificate
            .as_deref(),
        Some(format!("{}-cn-hangzhou", cas.cert_id).as_str())
    );
    assert_eq!(
        state
            .oss_cname_cert("web", "www.example.com")
            .unwrap()
            .cert_type,
        "cas"
    );
    // FC 3 was called over ROA with V3 signatures, and switched to HTTPS.
    let fc = state.calls_to("UpdateCustomDomain");
    assert_eq!(fc.len(), 1);
    assert_eq!(fc[0].http_status, 200);
    assert_eq!(state.services.fc_domains[0].protocol, "HTTP,HTTPS");

    // The OSS bundle: every file, server-side encrypted, meta.json describing it.
    for file in [
        "fullchain.pem",
        "cert.pem",
        "chain.pem",
        "privkey.pem",
        "certificate.p12",
        "meta.json",
    ] {
        let o = state
            .object(BUCKET, &format!("bundles/www/{file}"))
            .unwrap_or_else(|| panic!("{file} missing"));
        assert_eq!(
            o.headers
                .get("x-oss-server-side-encryption")
                .map(String::as_str),
            Some("AES256"),
            "{file}"
        );
    }
    let meta: Value =
        serde_json::from_slice(&state.object(BUCKET, "bundles/www/meta.json").unwrap().body)
            .unwrap();
    assert_eq!(meta["serial"], serial.as_str());
    assert_eq!(meta["not_after"], c.not_after());
    assert_eq!(meta["domains"], json!(["www.example.com"]));
    let chain = state
        .object(BUCKET, "bundles/www/chain.pem")
        .unwrap()
        .text()
        .unwrap()
        .to_string();
    assert!(chain.contains("BEGIN CERTIFICATE") && !chain.contains("PRIVATE"));
    assert!(state
        .object(BUCKET, "bundles/www/privkey.pem")
        .unwrap()
        .text()
        .unwrap()
        .contains("BEGIN PRIVATE KEY"));

    // The PKCS#12 opens with the real openssl and the password from KMS, and holds the leaf.
    let p12 = &state
        .object(BUCKET, "bundles/www/certificate.p12")
        .unwrap()
        .body;
    let (ok, info) = openssl_pkcs12_info(p12, P12_PASSWORD);
    assert!(ok, "openssl pkcs12 -info failed: {info}");
    assert!(
        info.contains("PBES2") && info.contains("AES-256-CBC"),
        "{info}"
    );
    assert!(
        info.contains("localKeyID"),
        "the leaf is tied to its key: {info}"
    );
    let leaf_pem = &info[info.find("-----BEGIN CERTIFICATE-----").unwrap()..];
    assert_eq!(
        support::emulator::parse_cert(leaf_pem).unwrap().serial_no,
        serial
    );
    let (wrong, _) = openssl_pkcs12_info(p12, "not the password");
    assert!(!wrong, "a wrong password must not open it");

    // Nothing secret in the output: no line of the private key's base64 body (whatever the
    // formatting around it: PEM, Debug with escaped newlines, JSON) in stdout, stderr or the
    // result JSON, in any call's parameters (the key's own parameters are redacted by the
    // emulator's log, so a key there is a key sent where it does not belong), nor in any OSS
    // object but its own destination.
    let key = &state.cdn_cert("www.example.com").unwrap().key;
    let body = key_body_lines(key);
    assert!(body.len() >= 2, "{key}");
    // The check itself can fail: it finds the key in its Debug and JSON forms.
    assert!(leaked(&body, &format!("{key:?}")).is_some());
    assert!(leaked(&body, &json!({ "k": key }).to_string()).is_some());
    let result_json = first.json.to_string();
    for (what, out) in [
        ("stdout", &first.stdout),
        ("stderr", &first.stderr),
        ("result JSON", &result_json),
    ] {
        assert_eq!(leaked(&body, out), None, "the private key is in {what}");
        assert!(
            !out.contains(P12_PASSWORD) && !out.contains(AK_SECRET),
            "{what}"
        );
    }
    for call in &state.calls {
        for (k, v) in &call.params {
            assert_eq!(
                leaked(&body, v),
                None,
                "the private key is in {} parameter {k}",
                call.action
            );
        }
    }
    for (path, object) in &state.oss_objects {
        if path.ends_with("bundles/www/privkey.pem") {
            continue;
        }
        let text = String::from_utf8_lossy(&object.body);
        assert_eq!(leaked(&body, &text), None, "the private key is in {path}");
    }

    // `status` reads every target (oss-bundle from meta.json/cert.pem) as deployed.
    let status = rig.invoke(r#"{"action":"status"}"#).await;
    let s = status.certificate_with("www", "up_to_date");
    for (target, st) in statuses(s) {
        assert_eq!(st, "up_to_date", "{target}");
    }
    for t in &s.targets {
        assert_eq!(t.serial(), serial.as_str(), "{t:?}");
    }
    assert_eq!(
        rig.emulator.state().calls_to("UploadUserCertificate").len(),
        1
    );

    // A forced renewal rolls a new serial everywhere, then retires what it superseded: the old
    // CAS certificate, the old SLB server certificate, the old ALB additional certificate.
    let forced = rig.invoke(r#"{"force":true}"#).await;
    forced.expect_exit(0);
    let f = forced.certificate("www");
    assert_eq!(f.status, "renewed");
    let serial2 = f.serial().to_string();
    assert_ne!(serial2, serial);
    let state = rig.emulator.state();
    for (target, s) in deployed_serials(&state) {
        assert_eq!(s, serial2, "{target} after the forced renewal");
    }
    assert_eq!(
        state.cas_certs.len(),
        1,
        "the superseded CAS certificate is deleted"
    );
    assert_eq!(state.cas_certs[0].info.serial_no, serial2);
    assert_eq!(state.calls_to("DeleteUserCertificate").len(), 1);
    assert_eq!(state.services.slb_server_certs.len(), 1);
    assert_eq!(
        state
            .alb_listener("lsn-2")
            .unwrap()
            .additional_certificates
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_never_deletes_other_certificates_or_ones_in_use() {
    // Someone else's CAS certificate, and one of alicert's still used by a CDN domain outside
    // the config, survive a renewal.
    let rig = Scenario::new()
        .seed(|s| {
            s.zone("example.com")
                .cdn_domain("www.example.com")
                .cdn_domain("other.example.com")
        })
        .certificate("www", &["www.example.com", "other.example.com"])
        .target(cdn("www.example.com"))
        .start()
        .await;
    let first = rig.invoke("{}").await;
    first.expect_exit(0);
    // Someone points another CDN domain at alicert's CAS copy by hand, and uploads their own
    // certificate for the same names.
    let cas_id = rig.emulator.state().cas_certs[0].cert_id;
    rig.emulator
        .set_cdn_certificate_from_cas("other.example.com", cas_id);
    let key = rcgen::KeyPair::generate().unwrap();
    let own = rcgen::CertificateParams::new(vec!["www.example.com".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let foreign = rig
        .emulator
        .put_cas_certificate("www-manual", &own.pem(), &key.serialize_pem());
    let forced = rig.invoke(r#"{"force":true}"#).await;
    forced.expect_exit(0);
    let state = rig.emulator.state();
    assert_eq!(
        state.cas_certs.len(),
        3,
        "in-use and foreign certificates are kept"
    );
    assert!(state.cas_certs.iter().any(|c| c.cert_id == cas_id));
    assert!(state.cas_certs.iter().any(|c| c.cert_id == foreign));
    // alicert asked CAS where its superseded copy is deployed, saw it in use, and sent no
    // delete at all for it (nor for the foreign one) — not merely one that CAS refused.
    let asked = state.calls_to("ListCloudResources");
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(asked[0].params["CertIds"], format!("[{cas_id}]"));
    assert_eq!(asked[0].http_status, 200);
    let deletes = state.calls_to("DeleteUserCertificate");
    assert!(
        deletes
            .iter()
            .all(|d| d.params["CertId"] != cas_id.to_string()
                && d.params["CertId"] != foreign.to_string()),
        "a delete was sent for a certificate in use or not alicert's: {deletes:?}"
    );
    assert!(deletes.is_empty(), "{deletes:?}");

    // The emulator still refuses such a delete, as CAS does (so the test above is about what
    // alicert sends, not about what CAS allows).
    let client = rig.emulator.client(support::rig::AK_ID, AK_SECRET, None);
    let id = cas_id.to_string();
    let refused = client
        .rpc(
            alicert::aliyun::Product::Cas,
            "DeleteUserCertificate",
            &[("CertId", id.as_str())],
        )
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("CertificateInUse"),
        "{refused}"
    );
    // The emulator's ListCloudResources: the CDN domain using it, by CertIds (a JSON list, as
    // the SDK sends it); anything else is refused.
    let listed = client
        .rpc(
            alicert::aliyun::Product::Cas,
            "ListCloudResources",
            &[("CertIds", format!("[{id}]").as_str())],
        )
        .await
        .unwrap();
    assert_eq!(listed["Total"], 1, "{listed}");
    assert_eq!(listed["Data"][0]["CloudProduct"], "CDN", "{listed}");
    assert_eq!(listed["Data"][0]["Domain"], "other.example.com", "{listed}");
    let bad = client
        .rpc(
            alicert::aliyun::Product::Cas,
            "ListCloudResources",
            &[("CertIds", id.as_str())],
        )
        .await
        .unwrap_err();
    assert!(bad.to_string().contains("InvalidParameter"), "{bad}");

    // Once nothing uses it any more, the next renewal deletes it.
    rig.emulator
        .set_cdn_certificate_from_cas("other.example.com", foreign);
    let again = rig.invoke(r#"{"force":true}"#).await;
    again.expect_exit(0);
    let state = rig.emulator.state();
    assert!(!state.cas_certs.iter().any(|c| c.cert_id == cas_id));
    let deleted: Vec<&str> = state
        .calls_to("DeleteUserCertificate")
        .iter()
        .filter(|d| d.http_status == 200)
        .map(|d| d.params["CertId"].as_str())
        .collect();
    assert!(
        deleted.contains(&cas_id.to_string().as_str()),
        "{deleted:?}"
    );
    assert!(!deleted.contains(&foreign.to_string().as_str()));
}

/// What the notification receivers got: (path, query, JSON body).
type Received = Arc<Mutex<Vec<(String, BTreeMap<String, String>, Value)>>>;

async fn receiver() -> (String, Received) {
    let got: Received = Arc::default();
    async fn hook(
        State(got): State<Received>,
        uri: axum::http::Uri,
        Json(body): Json<Value>,
    ) -> Json<Value> {
        let q = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
        got.lock().unwrap().push((uri.path().to_string(), q, body));
        Json(json!({"errcode": 0, "errmsg": "ok"}))
    }
    let app = Router::new()
        .route("/hook", post(hook))
        .route("/robot/send", post(hook))
        .with_state(got.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_target_is_reported_the_others_deploy_and_the_next_run_finishes() {
    let (base, got) = receiver().await;
    let dingtalk_secret = "SECtest0123456789abcdef";
    let rig = Scenario::new()
        .seed(|s| {
            s.zone("example.com")
                .cdn_domain("www.example.com")
                .fc_domain("www.example.com")
                .slb_listener("lb-1", 443)
        })
        .config(&format!(
            r#"
[notify]
webhook = "{base}/hook"
dingtalk_webhook = "{base}/robot/send?access_token=tok123"
dingtalk_secret = "env:DINGTALK_SECRET"

[[certificate]]
name = "www"
domains = ["www.example.com"]
targets = [
  {{ kind = "cdn", domain = "www.example.com" }},
  {{ kind = "fc", domain = "www.example.com" }},
  {{ kind = "slb", load_balancer_id = "lb-1", listener_port = 443 }},
]
"#
        ))
        .start()
        .await;
    let invoke = |event: &'static str| {
        let mut cmd = rig.command();
        cmd.arg("invoke")
            .arg(event)
            .env("DINGTALK_SECRET", dingtalk_secret);
        run(cmd)
    };

    // FC refuses (not a retryable error): FC fails with its Code and RequestId, the others deploy.
    rig.emulator
        .fail_next("UpdateCustomDomain", "Forbidden.RAM", 403);
    let first = invoke("{}").await;
    first.expect_exit(1);
    let c = first.certificate("www");
    assert_eq!(c.status, "failed", "{}", first.stdout);
    let serial = c.serial().to_string();
    let st = statuses(c);
    assert_eq!(st[0].1, "deployed");
    assert_eq!(st[1].1, "failed");
    assert_eq!(st[2].1, "deployed");
    let fc_error = c.target(1).error();
    assert_eq!(fc_error.code, "Forbidden.RAM", "{}", first.stdout);
    let state = rig.emulator.state();
    let failed_call = state
        .calls_to("UpdateCustomDomain")
        .into_iter()
        .find(|c| c.code.as_deref() == Some("Forbidden.RAM"))
        .unwrap();
    assert_eq!(
        fc_error.request_id.as_deref(),
        Some(failed_call.request_id.as_str())
    );
    assert_eq!(
        state.cdn_cert("www.example.com").unwrap().info.serial_no,
        serial
    );
    assert_eq!(
        state.slb_listener_cert("lb-1", 443).unwrap().serial_no,
        serial
    );
    assert!(state.fc_cert("www.example.com").is_none());
    let txt_before = state.records_added.len();

    // The next run re-deploys only FC, with the same certificate (kept in CAS): no new order.
    let second = invoke("{}").await;
    let c2 = second.certificate_with("www", "renewed");
    assert_eq!(c2.serial(), serial.as_str());
    assert!(c2.reason().contains("kept in CAS"), "{c2:?}");
    assert_eq!(
        c2.target_statuses(),
        ["up_to_date", "deployed", "up_to_date"]
    );
    let state = rig.emulator.state();
    assert_eq!(
        state.fc_cert("www.example.com").unwrap().info.serial_no,
        serial
    );
    assert_eq!(state.records_added.len(), txt_before, "no new ACME order");
    assert_eq!(state.calls_to("SetCdnDomainSSLCertificate").len(), 1);
    assert_eq!(
        state
            .calls_to("SetLoadBalancerHTTPSListenerAttribute")
            .len(),
        1
    );
    assert_eq!(state.calls_to("UploadUserCertificate").len(), 1);

    // A third run has nothing to do, and tells nobody.
    let third = invoke("{}").await;
    assert_eq!(third.certificate("www").status, "up_to_date");

    // Notifications: one per notable run and channel; DingTalk signed; nothing secret.
    let got = got.lock().unwrap().clone();
    let hooks: Vec<&Value> = got
        .iter()
        .filter(|(p, _, _)| p == "/hook")
        .map(|(_, _, b)| b)
        .collect();
    let robots: Vec<_> = got.iter().filter(|(p, _, _)| p == "/robot/send").collect();
    assert_eq!(hooks.len(), 2, "{got:?}");
    assert_eq!(robots.len(), 2, "{got:?}");
    assert_eq!(hooks[0]["event"], "failed");
    assert_eq!(
        hooks[0]["certificates"][0]["targets"][1]["error"]["code"],
        "Forbidden.RAM"
    );
    assert_eq!(hooks[1]["event"], "renewed");
    assert_eq!(hooks[1]["certificates"][0]["serial"], serial.as_str());
    for (_, q, body) in &robots {
        assert_eq!(q["access_token"], "tok123");
        let ts: i64 = q["timestamp"].parse().unwrap();
        assert_eq!(
            q["sign"],
            alicert::notify::dingtalk_sign(dingtalk_secret, ts)
        );
        assert_eq!(body["msgtype"], "text");
        assert!(body["text"]["content"].as_str().unwrap().contains("www"));
    }
    let key = rig.cdn_key("www.example.com");
    let everything = format!("{got:?}");
    for secret in [key.trim(), dingtalk_secret, AK_SECRET, "BEGIN PRIVATE KEY"] {
        assert!(
            !everything.contains(secret),
            "a notification leaked a secret"
        );
    }
}

/// What the emulator's FC custom domain holds now: the certificate an FC edge serves.
fn fc_domain_cert(state: &Value) -> Option<(String, String)> {
    let c = &state["services"]["fc_domains"][0]["certificate"];
    Some((
        c["cert"].as_str()?.to_string(),
        c["key"].as_str()?.to_string(),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_tls_reads_the_certificate_actually_served() {
    let seed = Seed::default()
        .zone("example.com")
        .fc_domain("www.example.com");
    // The edge needs the emulator's URL and the config needs the edge's address: start the
    // rig with a placeholder, then write the real address into the config.
    let rig = Scenario::new()
.seed(|_| seed)
.certificate("www", &["www.example.com"])
.target(Target::toml(r#"{ kind = "fc", domain = "www.example.com", verify_tls = "www.example.com:443", verify_tls_connect = "EDGE" }"#))
.start()
.await;
    let edge = edge(rig.emulator.base_url(), fc_domain_cert).await;
    let text = std::fs::read_to_string(&rig.config_path)
        .unwrap()
        .replace("EDGE", &edge.addr.to_string());
    std::fs::write(&rig.config_path, text).unwrap();
    // Deployed, and verified over TLS: the edge serves the new serial.
    let first = rig.invoke("{}").await;
    first.expect_exit(0);
    let c = first.certificate("www");
    assert_eq!(c.status, "issued");
    assert_eq!(c.target(0).status, "deployed");
    let serial = c.serial().to_string();
    let served = alicert::deploy::tls::served(&alicert::deploy::tls::VerifyTls {
        host: "www.example.com".into(),
        port: 443,
        connect: Some(edge.addr),
    })
    .await
    .unwrap();
    assert_eq!(served.serial, serial);

    // The edge goes stale (serves another certificate while FC's API reports the new one):
    // status reports what is served.
    let key = rcgen::KeyPair::generate().unwrap();
    let stale = rcgen::CertificateParams::new(vec!["www.example.com".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let stale_serial = alicert::cert::CertInfo::from_pem(&stale.pem())
        .unwrap()
        .serial;
    *edge.forced.lock().unwrap() = Some(certified_key(&stale.pem(), &key.serialize_pem()));
    let status = rig.invoke(r#"{"action":"status"}"#).await;
    let t = &status.certificate("www").target(0);
    assert_eq!(t.serial(), stale_serial.as_str(), "{}", status.stdout);
    assert_ne!(stale_serial, serial);

    // Nothing listening there: the target fails with a message naming verify_tls.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let text = std::fs::read_to_string(&rig.config_path)
        .unwrap()
        .replace(&edge.addr.to_string(), &dead.to_string());
    std::fs::write(&rig.config_path, text).unwrap();
    let down = rig.invoke(r#"{"action":"status"}"#).await;
    down.expect_exit(1);
    let t = &down.certificate("www").target(0);
    assert_eq!(t.status, "failed");
    assert!(
        t.error().message.as_str().contains("verify_tls"),
        "{}",
        down.stdout
    );

    // Not a port scanner: an IP, an internal name, a name the certificate does not cover, or a
    // connect address off this machine are config errors at load, before any call.
    let good = std::fs::read_to_string(&rig.config_path).unwrap();
    let line = format!("verify_tls = \"www.example.com:443\", verify_tls_connect = \"{dead}\"");
    assert!(good.contains(&line), "{good}");
    for (bad, needle) in [
        ("verify_tls = \"10.0.0.7:22\"", "IP address"),
        ("verify_tls = \"db-internal:5432\"", "DNS name"),
        (
            "verify_tls = \"admin.example.com:443\"",
            "not one of the certificate's domains",
        ),
        (
            "verify_tls = \"www.example.com:443\", verify_tls_connect = \"10.0.0.7:22\"",
            "loopback",
        ),
        ("verify_tls = \"www.example.com:70000\"", "1-65535"),
    ] {
        std::fs::write(&rig.config_path, good.replace(&line, bad)).unwrap();
        let calls = rig.emulator.state().calls.len();
        let run = rig.invoke(r#"{"action":"status"}"#).await;
        assert_eq!(run.exit, 2, "{bad}: {}", run.stdout);
        assert!(
            run.stderr.contains("verify_tls") && run.stderr.contains(needle),
            "{bad}: {}",
            run.stderr
        );
        assert_eq!(
            rig.emulator.state().calls.len(),
            calls,
            "{bad}: a call was made"
        );
    }
}
