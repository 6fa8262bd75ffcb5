//! ACME completeness against real Pebble, through the `alicert` binary: account lifecycle
//! (create/show/update/rollover/deactivate), External Account Binding, revocation, alternate
//! chains, key types, key reuse, several roots in `ca_bundle`.
mod support;
use support::scenario::{cas, cdn, Scenario};

use support::emulator::Seed;
use support::pebble::{self, Options};
use support::rig::{Rig, BUCKET};

const WWW: &str = r#"
[[certificate]]
name = "www"
domains = ["www.example.com"]
targets = [{ kind = "cdn", domain = "www.example.com" }]
"#;

fn www_seed() -> Seed {
    Seed::default()
        .zone("example.com")
        .cdn_domain("www.example.com")
}

#[track_caller]
fn stored_key(rig: &Rig) -> String {
    rig.emulator
        .state()
        .object(BUCKET, "acme/account.pem")
        .expect("account key object")
        .text()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_create_show_update_rollover_deactivate() {
    let rig = Scenario::www_on_cdn().start().await;
    // show creates nothing: no key yet is a clear input error.
    let run = rig.run(&["account", "show"]).await;
    run.expect_exit(2);
    assert!(run.stderr.contains("account create"), "{}", run.stderr);
    assert_no_account_key_stored(&rig);

    let created = rig.run(&["account", "create"]).await;
    let a = &created.ok().account();
    let url = a.url.clone();
    assert!(url.starts_with("https://127.0.0.1:"), "{a:?}");
    assert_eq!(a.status.as_deref(), Some("valid"), "{a:?}");
    assert_eq!(a.contacts, ["mailto:ops@example.com"]);
    assert!(a.created);
    let thumb = a.key_thumbprint.clone();
    assert_eq!(thumb.len(), 43, "base64url SHA-256: {thumb}");
    let key_v1 = stored_key(&rig);
    assert!(key_v1.contains("BEGIN PRIVATE KEY"));
    let body = key_v1.lines().nth(1).unwrap();
    assert!(!created.stdout.contains(body) && !created.stderr.contains(body));

    let shown = rig.run(&["account", "show"]).await;
    let a = &shown.ok().account();
    assert_eq!(a.url, url.as_str());
    assert_eq!(a.status.as_deref(), Some("valid"));
    assert_eq!(a.key_thumbprint, thumb.as_str());
    assert_eq!(a.contacts, ["mailto:ops@example.com"]);
    assert!(!a.created, "{a:?}");

    // update: the CA's account object carries the new contacts.
    let updated = rig
        .run(&[
            "account",
            "update",
            "--email",
            "new@example.com",
            "--email",
            "sec@example.com",
        ])
        .await;
    assert_eq!(
        updated.ok().account().contacts,
        ["mailto:new@example.com", "mailto:sec@example.com"]
    );
    let a = account(&rig, &["account", "show"]).await;
    assert_eq!(
        a.contacts,
        ["mailto:new@example.com", "mailto:sec@example.com"]
    );
    let bad = rig
        .invoke(r#"{"action":"account","op":"update","email":"nobody"}"#)
        .await;
    bad.expect_exit(2);

    // rollover through the event: new key stored where the old one was, old kept beside it,
    // same account found with the new key, old key no longer accepted.
    let dry = rig
        .invoke(r#"{"action":"account","op":"rollover","dry_run":true}"#)
        .await;
    assert!(dry.ok().account().would.is_some());
    assert_eq!(stored_key(&rig), key_v1);
    let rolled = rig.invoke(r#"{"action":"account","op":"rollover"}"#).await;
    let a = &rolled.ok().account();
    assert_eq!(a.url, url.as_str());
    assert_eq!(a.previous_key_thumbprint.as_deref(), Some(thumb.as_str()));
    let thumb2 = a.key_thumbprint.clone();
    assert_ne!(thumb2, thumb);
    let key_v2 = stored_key(&rig);
    assert_ne!(key_v2, key_v1);
    let previous = rig
        .emulator
        .state()
        .object(BUCKET, "acme/account.pem.previous")
        .expect("previous key kept")
        .text()
        .unwrap()
        .to_string();
    assert_eq!(previous, key_v1);
    let a = account(&rig, &["account", "show"]).await;
    assert_eq!(a.url, url.as_str());
    assert_eq!(a.key_thumbprint, thumb2.as_str());
    // The next invocation orders with the new key.
    let issued = rig.invoke("{}").await;
    assert_eq!(issued.ok().certificate("www").status, "issued");
    // The old key is dead at the CA: put it back and the account is not found.
    rig.emulator
        .put_object(BUCKET, "acme/account.pem", key_v1.as_bytes());
    let stale = rig.run(&["account", "show"]).await;
    assert_ne!(stale.exit, 0, "{}", stale.stdout);
    rig.emulator
        .put_object(BUCKET, "acme/account.pem", key_v2.as_bytes());

    // deactivate needs explicit confirmation, on the CLI and in the event.
    let refused = rig.run(&["account", "deactivate"]).await;
    refused.expect_exit(2);
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);
    let refused = rig
        .invoke(r#"{"action":"account","op":"deactivate"}"#)
        .await;
    refused.expect_exit(2);
    assert!(refused.stderr.contains("confirm"), "{}", refused.stderr);
    let gone = rig.run(&["account", "deactivate", "--yes"]).await;
    let a = &gone.ok().account();
    assert_eq!(a.status.as_deref(), Some("deactivated"), "{a:?}");
    assert_eq!(a.url, url.as_str());
    let after = rig.run(&["account", "show"]).await;
    after.expect_exit(2);
    assert!(
        after.stderr.contains("is deactivated") && after.stderr.contains("account create"),
        "{}",
        after.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kms_rollover_keeps_the_previous_version_and_checks_write_access_first() {
    let rig = Scenario::from_toml(www_seed(), WWW)
        .account_key("kms:alicert/account")
        .start()
        .await;
    let a = account(&rig, &["account", "create"]).await;
    let key_v1 = rig
        .emulator
        .state()
        .secret_value("alicert/account")
        .unwrap()
        .to_string();

    // Without kms:PutSecretValue the rollover stops before the CA hears of a new key.
    rig.emulator
        .fail_next("PutSecretValue", "Forbidden.NoPermission", 403);
    let denied = rig.run(&["account", "rollover"]).await;
    denied.expect_exit(1);
    assert!(
        denied.stderr.contains("Forbidden.NoPermission"),
        "{}",
        denied.stderr
    );
    let still = account(&rig, &["account", "show"]).await;
    assert_eq!(still.key_thumbprint, a.key_thumbprint);

    let rolled = account(&rig, &["account", "rollover"]).await;
    assert_eq!(rolled.url, a.url);
    assert_ne!(rolled.key_thumbprint, a.key_thumbprint);
    let state = rig.emulator.state();
    let secret = &state.kms_secrets["alicert/account"];
    let current = secret.current().unwrap();
    assert_ne!(current.data, key_v1);
    let previous = secret
        .versions
        .iter()
        .find(|v| v.stages.iter().any(|s| s == "ACSPrevious"))
        .expect("ACSPrevious version");
    assert_eq!(previous.data, key_v1);
    let shown = account(&rig, &["account", "show"]).await;
    assert_eq!(shown.key_thumbprint, rolled.key_thumbprint);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_key_rollover_and_env_key_refusal() {
    let rig = Scenario::from_toml(www_seed(), WWW)
        .account_key("file:PLACEHOLDER")
        .start()
        .await;
    let path = rig.dir.path().join("account.pem");
    rig.set_acme("account_key", &format!("\"file:{}\"", path.display()));
    let a = account(&rig, &["account", "create"]).await;
    let v1 = std::fs::read_to_string(&path).unwrap();
    let rolled = account(&rig, &["account", "rollover"]).await;
    assert_eq!(rolled.url, a.url);
    let v2 = std::fs::read_to_string(&path).unwrap();
    assert_ne!(v1, v2);
    assert_eq!(
        std::fs::read_to_string(rig.dir.path().join("account.pem.previous")).unwrap(),
        v1
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // An env: key cannot be rewritten: refused before the CA is asked.
    rig.set_acme("account_key", "\"env:ALICERT_TEST_ACCOUNT_KEY\"");
    let mut cmd = rig.command();
    cmd.env("ALICERT_TEST_ACCOUNT_KEY", &v2)
        .args(["account", "rollover"]);
    let refused = support::rig::run(cmd).await;
    refused.expect_exit(2);
    assert!(
        refused.stderr.contains("environment variable"),
        "{}",
        refused.stderr
    );
    let mut cmd = rig.command();
    cmd.env("ALICERT_TEST_ACCOUNT_KEY", &v2)
        .args(["account", "show"]);
    let shown = support::rig::run(cmd).await;
    assert_eq!(shown.ok().account().key_thumbprint, rolled.key_thumbprint);
}

/// Pebble's sample EAB HMAC key (base64url).
const EAB_KEY: &str = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_account_binding_required_by_the_ca() {
    let pebble = pebble::start_with(Options {
        eab_keys: vec![("kid-1".into(), EAB_KEY.into())],
        ..Options::default()
    })
    .await;
    let seed = www_seed().kms_secret("alicert/eab", EAB_KEY);
    let rig = Scenario::from_toml(seed, WWW).pebble(pebble).start().await;

    // No EAB configured: a clear config error, and no account key left behind.
    let run = rig.run_with_env(&[], &["account", "create"]).await;
    run.expect_exit(2);
    assert!(
        run.stderr.contains("External Account Binding")
            && run.stderr.contains("eab_kid")
            && run.stderr.contains("eab_hmac_key"),
        "{}",
        run.stderr
    );
    let renew = rig.run_with_env(&[], &["invoke", "{}"]).await;
    renew.expect_exit(1);
    let c = renew.certificate("www");
    assert_eq!(c.error().code, "ConfigError", "{c:?}");
    assert_no_account_key_stored(&rig);

    // Half a binding, or a key that is not base64url: refused at config load (exit 2, the
    // bad key not echoed); the wrong HMAC key: the CA refuses the binding (exit 1).
    let kid = ("ALICERT_ACME_EAB_KID", "kid-1");
    let hmac = |v| ("ALICERT_ACME_EAB_HMAC_KEY", v);
    for (env, exit, says) in [
        (vec![kid], 2, "eab_hmac_key"),
        (vec![kid, hmac("not*base64")], 2, "base64url"),
        (
            vec![kid, hmac("c29tZS1vdGhlci1rZXk")],
            1,
            "External Account Binding",
        ),
    ] {
        let run = rig.run_with_env(&env, &["account", "create"]).await;
        run.expect_exit(exit);
        assert!(run.stderr.contains(says), "{}", run.stderr);
        assert!(!run.stderr.contains("not*base64"), "{}", run.stderr);
    }
    assert_no_account_key_stored(&rig);

    // The HMAC key from KMS: account created and bound, key stored, then found by key.
    let eab = [
        ("ALICERT_ACME_EAB_KID", "kid-1"),
        ("ALICERT_ACME_EAB_HMAC_KEY", "kms:alicert/eab"),
    ];
    let created = rig.run_with_env(&eab, &["account", "create"]).await;
    let a = created.ok().account().clone();
    assert_eq!(a.status.as_deref(), Some("valid"));
    assert!(a.created);
    assert!(!created.stdout.contains(EAB_KEY) && !created.stderr.contains(EAB_KEY));
    assert!(stored_key(&rig).contains("BEGIN PRIVATE KEY"));
    // An existing account needs no binding any more.
    let shown = rig.run_with_env(&[], &["account", "show"]).await;
    assert_eq!(shown.ok().account().url, a.url);
    let issued = rig.run_with_env(&[], &["invoke", "{}"]).await;
    assert_eq!(issued.ok().certificate("www").status, "issued");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoke_the_deployed_certificate() {
    let rig = Scenario::new()
        .seed(www_and_api)
        .certificate("www", &["www.example.com"])
        .target(cas())
        .target(cdn("www.example.com"))
        .certificate("api", &["api.example.com"])
        .target(cdn("api.example.com"))
        .start()
        .await;
    let first = rig.invoke("{}").await;
    let www_serial = first.ok().certificate("www").serial().to_string();
    let api_serial = first.certificate("api").serial().to_string();

    // Reason codes are RFC 5280's: 7 does not exist, 11 neither.
    for bad in ["7", "11"] {
        let run = rig
            .run(&["revoke", "--certificate", "www", "--reason", bad])
            .await;
        run.expect_exit(2);
        assert!(run.stderr.contains("CRLReason"), "{}", run.stderr);
    }
    let unknown = rig.run(&["revoke", "--certificate", "nope"]).await;
    unknown.expect_exit(2);
    let dry = rig
        .run(&["--dry-run", "revoke", "--certificate", "www"])
        .await;
    assert_eq!(dry.ok().revocation().revoked[0].status, "would_revoke");
    assert_eq!(rig.pebble.cert_status(&www_serial).await["Status"], "Valid");

    let run = rig
        .run(&[
            "revoke",
            "--certificate",
            "www",
            "--reason",
            "4",
            "--no-replace",
        ])
        .await;
    let r = &run.ok().revocation();
    assert_eq!(r.reason, Some(4));
    assert_eq!(r.reason_name.as_deref(), Some("superseded"));
    let revoked = &r.revoked;
    // cas and cdn serve the same certificate: revoked once, both named.
    assert_eq!(revoked.len(), 1, "{r:?}");
    assert_eq!(revoked[0].serial, www_serial.as_str());
    assert_eq!(revoked[0].status, "revoked");
    assert_eq!(revoked[0].targets.len(), 2);
    let status = rig.pebble.cert_status(&www_serial).await;
    assert_eq!(status["Status"], "Revoked", "{status}");
    assert_eq!(status["Reason"], 4, "{status}");
    let again = rig
        .run(&["revoke", "--certificate", "www", "--no-replace"])
        .await;
    assert_eq!(again.ok().revocation().revoked[0].status, "already_revoked");

    // The event form, keyCompromise (replace, then revoke: tests/revoke.rs).
    let ev = rig
        .invoke(r#"{"action":"revoke","certificate":"api","reason":1}"#)
        .await;
    assert_eq!(ev.ok().revocation().revoked[0].status, "revoked");
    let status = rig.pebble.cert_status(&api_serial).await;
    assert_eq!(status["Status"], "Revoked");
    assert_eq!(status["Reason"], 1);
}

/// The first common name of `name` (a certificate's subject or issuer).
fn first_cn(name: &x509_parser::x509::X509Name<'_>) -> String {
    name.iter_common_name()
        .next()
        .unwrap()
        .as_str()
        .unwrap()
        .to_string()
}

/// Common names of each certificate's issuer in a PEM chain, leaf first.
fn issuer_cns(chain: &str) -> Vec<String> {
    use x509_parser::prelude::*;
    ::pem::parse_many(chain)
        .unwrap()
        .iter()
        .filter(|p| p.tag() == "CERTIFICATE")
        .map(|p| first_cn(X509Certificate::from_der(p.contents()).unwrap().1.issuer()))
        .collect()
}

fn subject_cn(pem_text: &str) -> String {
    use x509_parser::prelude::*;
    let p = ::pem::parse(pem_text).unwrap();
    let (_, c) = X509Certificate::from_der(p.contents()).unwrap();
    first_cn(c.subject())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preferred_chain_picks_an_alternate_root() {
    let pebble = pebble::start_with(Options {
        alternate_roots: 2,
        ..Options::default()
    })
    .await;
    let root0 = subject_cn(&pebble.root_pem(0).await);
    let root2 = subject_cn(&pebble.root_pem(2).await);
    assert_ne!(root0, root2);
    let rig = Scenario::new()
        .seed(|s| {
            s.zone("example.com")
                .cdn_domain("a.example.com")
                .cdn_domain("b.example.com")
                .cdn_domain("c.example.com")
        })
        .config(&format!(
            r#"
[[certificate]]
name = "default"
domains = ["a.example.com"]
targets = [{{ kind = "cdn", domain = "a.example.com" }}]

[[certificate]]
name = "alternate"
domains = ["b.example.com"]
preferred_chain = "{root2}"
targets = [{{ kind = "cdn", domain = "b.example.com" }}]

[[certificate]]
name = "unmet"
domains = ["c.example.com"]
preferred_chain = "No Such Root"
targets = [{{ kind = "cdn", domain = "c.example.com" }}]
"#
        ))
        .pebble(pebble)
        .start()
        .await;
    let run = rig.invoke("{}").await;
    let result = run.ok();
    let state = rig.emulator.state();
    let top = |d: &str| {
        issuer_cns(&state.cdn_cert(d).unwrap().cert)
            .last()
            .unwrap()
            .clone()
    };
    assert_eq!(top("a.example.com"), root0);
    assert_eq!(top("b.example.com"), root2);
    assert_eq!(top("c.example.com"), root0);
    assert!(result.certificate("alternate").notes.is_empty());
    let notes = result.certificate("unmet").notes.join("\n");
    assert!(
        notes.contains("No Such Root") && notes.contains(&root2),
        "{notes}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_key_type_is_issued_and_deployed() {
    let types = ["ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "rsa-4096"];
    let mut scenario = Scenario::new().seed(|s| s.zone("example.com"));
    for t in types {
        let domain = format!("{t}.example.com");
        scenario = scenario
            .seed(|s| s.cdn_domain(&domain))
            .certificate(t, &[&domain])
            .option(&format!("key_type = \"{t}\""))
            .target(cdn(&domain));
    }
    let rig = scenario.start().await;
    let started = std::time::Instant::now();
    let run = rig.invoke("{}").await;
    eprintln!("five key types issued in {:?}", started.elapsed());
    let result = run.ok();
    let state = rig.emulator.state();
    for t in types {
        assert_eq!(result.certificate(t).status, "issued");
        let deployed = state.cdn_cert(&format!("{t}.example.com")).unwrap();
        let key = rcgen::KeyPair::from_pem(&deployed.key).unwrap();
        match t {
            "ec-p256" => assert_eq!(key.algorithm(), &rcgen::PKCS_ECDSA_P256_SHA256),
            "ec-p384" => assert_eq!(key.algorithm(), &rcgen::PKCS_ECDSA_P384_SHA384),
            rsa => {
                use rsa::pkcs8::DecodePrivateKey as _;
                use rsa::traits::PublicKeyParts as _;
                let bits: usize = rsa.trim_start_matches("rsa-").parse().unwrap();
                let k = rsa::RsaPrivateKey::from_pkcs8_pem(&deployed.key).unwrap();
                assert_eq!(k.size() * 8, bits);
                assert_eq!(deployed.info.algorithm, "RSA");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reuse_key_keeps_the_key_where_a_target_gives_it_back() {
    let rig = Scenario::new()
        .seed(www_and_api)
        .certificate("www", &["www.example.com"])
        .option("reuse_key = true")
        .target(cas())
        .target(cdn("www.example.com"))
        .certificate("api", &["api.example.com"])
        .option("reuse_key = true")
        .target(cdn("api.example.com"))
        .start()
        .await;
    let first = rig.invoke("{}").await;
    first.ok();
    let key_www = rig.cdn_key("www.example.com");
    let key_api = rig.cdn_key("api.example.com");
    let second = rig.invoke(r#"{"force":true}"#).await;
    let result = second.ok();
    let state = rig.emulator.state();
    let www = result.certificate("www");
    assert_eq!(www.status, "renewed");
    assert_ne!(www.serial(), first.certificate("www").serial());
    assert_eq!(state.cdn_cert("www.example.com").unwrap().key, key_www);
    assert!(
        www.notes.iter().any(|n| n.contains("kept the private key")),
        "{www:?}"
    );
    // cdn cannot give its key back: a new key, and the result says why.
    let api = result.certificate("api");
    assert_ne!(state.cdn_cert("api.example.com").unwrap().key, key_api);
    assert!(api.notes.iter().any(|n| n.contains("no target")), "{api:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ca_bundle_trusts_every_root_and_unknown_profiles_fail_clearly() {
    let rig = Scenario::new()
        .seed(|_| www_seed())
        .certificate("www", &["www.example.com"])
        .option(r#"profile = "shortlived""#)
        .target(cdn("www.example.com"))
        .start()
        .await;
    // An unrelated CA first, Pebble's second: the old client trusted only the first.
    let other = rcgen::CertificateParams::new(Vec::<String>::new())
        .unwrap()
        .self_signed(&rcgen::KeyPair::generate().unwrap())
        .unwrap()
        .pem();
    let bundle = rig.dir.path().join("bundle.pem");
    std::fs::write(&bundle, format!("{other}{}", rig.pebble.ca_pem())).unwrap();
    rig.set_acme("ca_bundle", &format!("\"{}\"", bundle.display()));
    rig.run(&["account", "create"]).await.ok();
    // Only the unrelated CA: Pebble's certificate is not trusted.
    let lonely = rig.dir.path().join("other.pem");
    std::fs::write(&lonely, &other).unwrap();
    rig.set_acme("ca_bundle", &format!("\"{}\"", lonely.display()));
    let untrusted = rig.run(&["account", "show"]).await;
    assert_ne!(untrusted.exit, 0);
    rig.set_acme("ca_bundle", &format!("\"{}\"", bundle.display()));

    // Pebble 2.4 lists no profiles: the order is refused before it is placed.
    let run = rig.invoke("{}").await;
    run.expect_exit(1);
    let c = run.certificate("www");
    assert_eq!(c.status, "failed");
    let msg = c.error().message.as_str();
    assert!(
        msg.contains("shortlived") && msg.contains("does not support profiles"),
        "{msg}"
    );
    assert!(rig.emulator.state().records_added.is_empty());
}

/// The account report of a successful `alicert <args>`.
async fn account(rig: &support::rig::Rig, args: &[&str]) -> support::outcome::AccountView {
    rig.run(args).await.ok().account().clone()
}

/// Zone example.com with the CDN domains www and api.
fn www_and_api(s: support::emulator::Seed) -> support::emulator::Seed {
    s.zone("example.com")
        .cdn_domain("www.example.com")
        .cdn_domain("api.example.com")
}

/// No account key was stored (lock objects may come and go).
fn assert_no_account_key_stored(rig: &support::rig::Rig) {
    assert!(rig
        .emulator
        .state()
        .calls_to("PutObject")
        .iter()
        .all(|c| !c.params.values().any(|v| v.contains("account"))));
}
