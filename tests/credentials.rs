//! The credential chain against the emulator: each source gives the key it should (the one the
//! emulator issued for it, which then signs a GetCallerIdentity), the sources take precedence in
//! the SDKs' order, temporary keys are fetched again inside their last 15 minutes, and the
//! emulated STS and metadata service refuse what Alibaba's refuse.
mod support;

use std::collections::BTreeMap;

use alicert::aliyun::{credentials, AliyunConfig, Credentials, Product};
use support::emulator::{self, AccessKey, Emulator, MetadataOptions, MetadataServer, Seed};

const ROLE: &str = "acs:ram::1234567890123456:role/alicert-renewer";
const IDP: &str = "acs:ram::1234567890123456:oidc-provider/ack-rrsa-c1";
const OIDC_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2ln";

fn config(emu: &Emulator) -> AliyunConfig {
    AliyunConfig {
        endpoints: Product::codes()
            .into_iter()
            .map(|p| (p.to_string(), emu.regional_url()))
            .collect(),
        ..Default::default()
    }
}

/// An environment with nothing but `pairs`: no HOME (no CLI profile) and no metadata service
/// (a closed port) unless a test adds them.
fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut e: BTreeMap<String, String> = [("ALICERT_ECS_METADATA_URL", "http://127.0.0.1:1")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    e.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    e
}

async fn resolve(
    emu: &Emulator,
    fc: Option<Credentials>,
    env: &BTreeMap<String, String>,
) -> alicert::error::Result<Credentials> {
    credentials::resolve(fc, env, &config(emu)).await
}

/// The key really signs: GetCallerIdentity with it succeeds and the emulator logged that key.
async fn signs(emu: &Emulator, c: &Credentials) {
    let client = emu.client(
        &c.access_key_id,
        c.access_key_secret.expose(),
        c.security_token.as_ref().map(|t| t.expose()),
    );
    client
        .rpc(Product::Sts, "GetCallerIdentity", &[])
        .await
        .expect("the resolved key signs a call");
    let state = emu.state();
    let last = state.calls_to("GetCallerIdentity").pop().unwrap().clone();
    assert_eq!(last.access_key_id, c.access_key_id);
    assert_eq!(last.http_status, 200);
}

/// The only session `via` issued.
fn session(emu: &Emulator, via: &str) -> emulator::StsSession {
    let sessions: Vec<_> = emu
        .state()
        .sts
        .sessions
        .into_iter()
        .filter(|s| s.via == via)
        .collect();
    assert_eq!(sessions.len(), 1, "{via}: {sessions:?}");
    sessions[0].clone()
}

fn fc_key(id: &str) -> Credentials {
    Credentials {
        access_key_id: id.into(),
        access_key_secret: alicert::secret::Secret::new("fc-secret"),
        security_token: Some(alicert::secret::Secret::new("fc-token")),
    }
}

#[tokio::test]
async fn environment_key_and_fc_headers() {
    let emu = emulator::start(
        Seed::default()
            .access_key("LTAIenv0001", "env-secret")
            .sts_key("STS.fc0001", "fc-secret", "fc-token"),
    )
    .await;
    let e = env(&[
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAIenv0001"),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "env-secret"),
    ]);
    let c = resolve(&emu, None, &e).await.unwrap();
    assert_eq!(c.access_key_id, "LTAIenv0001");
    signs(&emu, &c).await;

    // FC's headers win over the environment.
    let c = resolve(&emu, Some(fc_key("STS.fc0001")), &e).await.unwrap();
    assert_eq!(c.access_key_id, "STS.fc0001");
    signs(&emu, &c).await;
}

#[tokio::test]
async fn role_arn_is_assumed_with_the_environment_key_or_the_fc_role() {
    let emu = emulator::start(
        Seed::default()
            .access_key("LTAIenv0002", "env-secret")
            .sts_key("STS.fc0002", "fc-secret", "fc-token")
            .role(ROLE),
    )
    .await;
    let e = env(&[
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAIenv0002"),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "env-secret"),
        ("ALIBABA_CLOUD_ROLE_ARN", ROLE),
    ]);
    let c = resolve(&emu, None, &e).await.unwrap();
    let s = session(&emu, "AssumeRole");
    assert_eq!(c.access_key_id, s.access_key_id, "the assumed role's key");
    assert_eq!(s.caller, "LTAIenv0002", "signed with the environment's key");
    assert!(s.session_name.starts_with("alicert-"), "{}", s.session_name);
    assert_eq!(s.duration_seconds, 3600);
    assert!(c.security_token.is_some());
    signs(&emu, &c).await;

    // On FC the function's role assumes it; the session name can be set.
    let mut e2 = e.clone();
    e2.insert(
        "ALIBABA_CLOUD_ROLE_SESSION_NAME".into(),
        "alicert-fc@prod".into(),
    );
    let c2 = resolve(&emu, Some(fc_key("STS.fc0002")), &e2)
        .await
        .unwrap();
    let state = emu.state();
    let s2 = state.sts.sessions.last().unwrap();
    assert_eq!(
        (s2.caller.as_str(), s2.session_name.as_str()),
        ("STS.fc0002", "alicert-fc@prod")
    );
    assert_eq!(c2.access_key_id, s2.access_key_id);

    // A role STS refuses is an error naming it, never the base key without the role.
    let mut bad = e.clone();
    bad.insert(
        "ALIBABA_CLOUD_ROLE_ARN".into(),
        "acs:ram::1234567890123456:role/missing".into(),
    );
    let err = resolve(&emu, None, &bad).await.unwrap_err().to_string();
    assert!(
        err.contains("role/missing") && err.contains("EntityNotExist.Role"),
        "{err}"
    );
    assert!(!err.contains("env-secret"), "{err}");
}

#[tokio::test]
async fn oidc_assumes_the_role_anonymously_with_the_token_file() {
    let emu = emulator::start(Seed::default().role(ROLE).oidc_provider(IDP, OIDC_TOKEN)).await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{OIDC_TOKEN}\n")).unwrap();
    let e = env(&[
        ("ALIBABA_CLOUD_ROLE_ARN", ROLE),
        ("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", IDP),
        (
            "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
            token_file.to_str().unwrap(),
        ),
    ]);
    let c = resolve(&emu, None, &e).await.unwrap();
    let s = session(&emu, "AssumeRoleWithOIDC");
    assert_eq!(c.access_key_id, s.access_key_id);
    let state = emu.state();
    let call = state.calls_to("AssumeRoleWithOIDC")[0];
    assert_eq!(call.access_key_id, "", "anonymous: no AccessKeyId");
    assert!(!call.params.contains_key("Signature"));
    assert_eq!(call.params["OIDCToken"], "<redacted>");
    signs(&emu, &c).await;

    // A token the provider did not issue is refused, and the error says so.
    let other = dir.path().join("other");
    std::fs::write(&other, "eyJ.forged.token").unwrap();
    let mut bad = e.clone();
    bad.insert(
        "ALIBABA_CLOUD_OIDC_TOKEN_FILE".into(),
        other.to_str().unwrap().into(),
    );
    let err = resolve(&emu, None, &bad).await.unwrap_err().to_string();
    assert!(
        err.contains("AuthenticationFail.OIDCToken.Invalid"),
        "{err}"
    );
}

async fn metadata(emu: &Emulator, duration_secs: i64) -> MetadataServer {
    emu.start_metadata(MetadataOptions {
        role: "EcsRoleAlicert".into(),
        duration_secs,
    })
    .await
}

#[tokio::test]
async fn ecs_instance_role_uses_an_imdsv2_token_and_refreshes_before_expiry() {
    let emu = emulator::start(Seed::default()).await;
    let md = metadata(&emu, 3600).await;
    let e = env(&[("ALICERT_ECS_METADATA_URL", &md.base_url())]);
    let c = resolve(&emu, None, &e).await.unwrap();
    assert_eq!(c.access_key_id, session(&emu, "EcsMetadata").access_key_id);
    assert!(md.tokens_issued() >= 1, "IMDSv2 token first");
    signs(&emu, &c).await;
    // An hour left: the cached key is used again, the service not asked.
    let again = resolve(&emu, None, &e).await.unwrap();
    assert_eq!(again.access_key_id, c.access_key_id);
    assert_eq!(md.credentials_served(), 1);

    // Keys with 10 minutes left are inside the 15-minute window: every use fetches anew.
    let short = metadata(&emu, 600).await;
    let e = env(&[
        ("ALICERT_ECS_METADATA_URL", &short.base_url()),
        ("ALIBABA_CLOUD_ECS_METADATA", "EcsRoleAlicert"),
    ]);
    let a = resolve(&emu, None, &e).await.unwrap();
    let b = resolve(&emu, None, &e).await.unwrap();
    assert_eq!(short.credentials_served(), 2);
    assert_ne!(a.access_key_id, b.access_key_id);
    signs(&emu, &b).await;

    // A role the instance does not have is an error.
    let e = env(&[
        ("ALICERT_ECS_METADATA_URL", &md.base_url()),
        ("ALIBABA_CLOUD_ECS_METADATA", "OtherRole"),
    ]);
    let err = resolve(&emu, None, &e).await.unwrap_err().to_string();
    assert!(
        err.contains("ECS instance role") && err.contains("404"),
        "{err}"
    );
}

#[tokio::test]
async fn credentials_uri_and_cli_profiles() {
    let emu = emulator::start(
        Seed::default()
            .access_key("LTAIprofile03", "profile-secret")
            .role(ROLE),
    )
    .await;
    let md = metadata(&emu, 3600).await;
    let uri = md.credentials_uri();
    let c = resolve(&emu, None, &env(&[("ALIBABA_CLOUD_CREDENTIALS_URI", &uri)]))
        .await
        .unwrap();
    assert_eq!(
        c.access_key_id,
        session(&emu, "CredentialsUri").access_key_id
    );
    assert_eq!(md.uri_served(), 1);
    signs(&emu, &c).await;

    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".aliyun")).unwrap();
    let profiles = serde_json::json!({
        "current": "plain",
        "profiles": [
            {"name": "plain", "mode": "AK", "access_key_id": "LTAIprofile03",
             "access_key_secret": "profile-secret", "region_id": "cn-hangzhou"},
            {"name": "ops", "mode": "RamRoleArn", "access_key_id": "LTAIprofile03",
             "access_key_secret": "profile-secret", "ram_role_arn": ROLE,
             "ram_session_name": "alicert-cli", "expired_seconds": 900},
        ]
    });
    std::fs::write(
        home.path().join(".aliyun/config.json"),
        profiles.to_string(),
    )
    .unwrap();
    let home_s = home.path().to_str().unwrap();
    let c = resolve(&emu, None, &env(&[("HOME", home_s)]))
        .await
        .unwrap();
    assert_eq!(
        c.access_key_id, "LTAIprofile03",
        "the file's current profile"
    );
    let c = resolve(
        &emu,
        None,
        &env(&[("HOME", home_s), ("ALIBABA_CLOUD_PROFILE", "ops")]),
    )
    .await
    .unwrap();
    let s = session(&emu, "AssumeRole");
    assert_eq!(
        (
            s.caller.as_str(),
            s.session_name.as_str(),
            s.duration_seconds
        ),
        ("LTAIprofile03", "alicert-cli", 900)
    );
    assert_eq!(c.access_key_id, s.access_key_id);
    signs(&emu, &c).await;

    let err = resolve(
        &emu,
        None,
        &env(&[("HOME", home_s), ("ALIBABA_CLOUD_PROFILE", "nope")]),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("no profile `nope`"), "{err}");

    // The SDKs' credentials file: a ram_role_arn section, selected by ALIBABA_CLOUD_PROFILE.
    let ini = home.path().join("creds.ini");
    std::fs::write(
        &ini,
        format!(
            "[default]\ntype = access_key\naccess_key_id = nobody\naccess_key_secret = x\n\
             [deploy]\ntype = ram_role_arn\naccess_key_id = LTAIprofile03\n\
             access_key_secret = profile-secret\nrole_arn = {ROLE}\nrole_session_name = alicert-ini\n"
        ),
    )
    .unwrap();
    let c = resolve(
        &emu,
        None,
        &env(&[
            ("ALIBABA_CLOUD_CREDENTIALS_FILE", ini.to_str().unwrap()),
            ("ALIBABA_CLOUD_PROFILE", "deploy"),
        ]),
    )
    .await
    .unwrap();
    let state = emu.state();
    let s = state.sts.sessions.last().unwrap();
    assert_eq!(
        (s.via.as_str(), s.session_name.as_str()),
        ("AssumeRole", "alicert-ini")
    );
    assert_eq!(c.access_key_id, s.access_key_id);
    signs(&emu, &c).await;
}

/// Every source configured at once; taking them away one by one walks the SDKs' order:
/// environment → OIDC → CLI profile → credentials file → ECS instance role → credentials URI.
#[tokio::test]
async fn precedence_follows_the_sdk_order() {
    let emu = emulator::start(
        Seed::default()
            .access_key("LTAIenv0004", "env-secret")
            .access_key("LTAIprofile04", "profile-secret")
            .access_key("LTAIini04", "ini-secret")
            .role(ROLE)
            .oidc_provider(IDP, OIDC_TOKEN),
    )
    .await;
    let md = metadata(&emu, 3600).await;
    let uri_md = metadata(&emu, 3600).await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, OIDC_TOKEN).unwrap();
    std::fs::create_dir(dir.path().join(".aliyun")).unwrap();
    std::fs::write(
        dir.path().join(".aliyun/config.json"),
        serde_json::json!({"current": "p", "profiles": [{"name": "p", "mode": "AK",
            "access_key_id": "LTAIprofile04", "access_key_secret": "profile-secret"}]})
        .to_string(),
    )
    .unwrap();
    let ini = dir.path().join("credentials.ini");
    std::fs::write(
        &ini,
        "[default]\ntype = access_key # a comment\naccess_key_id = LTAIini04\naccess_key_secret = ini-secret\n",
    )
    .unwrap();
    let uri = uri_md.credentials_uri();
    let mut e = env(&[
        ("ALIBABA_CLOUD_CREDENTIALS_FILE", ini.to_str().unwrap()),
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAIenv0004"),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "env-secret"),
        ("ALIBABA_CLOUD_ROLE_ARN", ROLE),
        ("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", IDP),
        (
            "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
            token_file.to_str().unwrap(),
        ),
        ("HOME", dir.path().to_str().unwrap()),
        ("ALICERT_ECS_METADATA_URL", &md.base_url()),
        ("ALIBABA_CLOUD_CREDENTIALS_URI", &uri),
    ]);
    let via = |emu: &Emulator, id: &str| {
        emu.state()
            .sts
            .sessions
            .iter()
            .find(|s| s.access_key_id == id)
            .map(|s| s.via.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let mut order = vec![];
    let steps: [&[&str]; 6] = [
        &["ALIBABA_CLOUD_ACCESS_KEY_ID"],
        &["ALIBABA_CLOUD_OIDC_PROVIDER_ARN"],
        &["HOME"],
        &["ALIBABA_CLOUD_CREDENTIALS_FILE"],
        &["ALICERT_ECS_METADATA_URL"],
        &["ALIBABA_CLOUD_CREDENTIALS_URI"],
    ];
    for remove in steps {
        let c = resolve(&emu, None, &e).await.unwrap();
        order.push(via(&emu, &c.access_key_id));
        for k in remove {
            e.remove(*k);
        }
        // Without ALICERT_ECS_METADATA_URL the real address would be tried; a closed port instead.
        if remove == ["ALICERT_ECS_METADATA_URL"] {
            e.insert("ALIBABA_CLOUD_ECS_METADATA_DISABLED".into(), "true".into());
        }
    }
    assert_eq!(
        order,
        [
            "LTAIenv0004",
            "AssumeRoleWithOIDC",
            "LTAIprofile04",
            "LTAIini04",
            "EcsMetadata",
            "CredentialsUri"
        ]
    );
    assert!(resolve(&emu, None, &e).await.is_err(), "nothing left");
}

// ---------------------------------------------------------------------------------------------
// Through the binary: the chain at alicert's call site.
// ---------------------------------------------------------------------------------------------

/// A whole renewal with `ALIBABA_CLOUD_ROLE_ARN`: the environment's key only calls AssumeRole,
/// every other call is signed by the role's key; then a status run with only the ECS role.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_signs_with_the_assumed_role_and_the_instance_role() {
    use support::rig::AK_ID;
    use support::scenario::{cdn, Scenario};
    let rig = Scenario::new()
        .seed(|s| {
            s.zone("example.com")
                .cdn_domain("www.example.com")
                .role(ROLE)
        })
        .certificate("www", &["www.example.com"])
        .target(cdn("www.example.com"))
        .start()
        .await;
    let run = rig
        .run_with_env(
            &[
                ("ALIBABA_CLOUD_ROLE_ARN", ROLE),
                ("ALIBABA_CLOUD_ROLE_SESSION_NAME", "alicert-renew"),
            ],
            &["invoke", "{}"],
        )
        .await;
    run.expect_exit(0);
    run.certificate_with("www", "issued");
    let s = session(&rig.emulator, "AssumeRole");
    assert_eq!(
        (s.caller.as_str(), s.session_name.as_str()),
        (AK_ID, "alicert-renew")
    );
    let state = rig.emulator.state();
    let (by_env, by_role): (Vec<_>, Vec<_>) =
        state.calls.iter().partition(|c| c.access_key_id == AK_ID);
    let env_actions: Vec<&str> = by_env.iter().map(|c| c.action.as_str()).collect();
    assert_eq!(
        env_actions,
        ["AssumeRole"],
        "the environment's key only assumes the role"
    );
    assert!(by_role.len() > 3, "{by_role:?}");
    for c in &by_role {
        assert_eq!(
            c.access_key_id, s.access_key_id,
            "{} signed by another key",
            c.action
        );
        assert!(
            c.security_token,
            "{} without the role's SecurityToken",
            c.action
        );
    }
    for action in [
        "AddDomainRecord",
        "DeleteDomainRecord",
        "SetCdnDomainSSLCertificate",
    ] {
        assert!(!state.calls_to(action).is_empty(), "{action} was called");
    }

    // The same binary on an "ECS instance": no key in the environment, the metadata role.
    let md = metadata(&rig.emulator, 3600).await;
    let before = rig.emulator.state().calls.len();
    let status = rig
        .run_with_env(
            &[
                ("ALIBABA_CLOUD_ACCESS_KEY_ID", ""),
                ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", ""),
                ("ALICERT_ECS_METADATA_URL", &md.base_url()),
            ],
            &["invoke", r#"{"action":"status"}"#],
        )
        .await;
    status.expect_exit(0);
    let ecs = session(&rig.emulator, "EcsMetadata");
    let state = rig.emulator.state();
    let later = &state.calls[before..];
    assert!(!later.is_empty());
    assert!(
        later.iter().all(|c| c.access_key_id == ecs.access_key_id),
        "{later:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// The emulated STS and metadata service refuse what Alibaba's refuse.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn emulated_sts_enforces_the_request_rules() {
    let emu = emulator::start(
        Seed::default()
            .access_key("LTAIrules05", "secret")
            .role(ROLE),
    )
    .await;
    let client = emu.client("LTAIrules05", "secret", None);
    let assume = |params: Vec<(&'static str, String)>| {
        let client = client.clone();
        async move {
            let p: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
            match client.rpc(Product::Sts, "AssumeRole", &p).await {
                Ok(_) => "ok".to_string(),
                Err(alicert::error::Error::Aliyun { code, .. }) => code,
                Err(e) => panic!("{e}"),
            }
        }
    };
    let ok = |name: &str, secs: &str| {
        vec![
            ("RoleArn", ROLE.to_string()),
            ("RoleSessionName", name.to_string()),
            ("DurationSeconds", secs.to_string()),
        ]
    };
    assert_eq!(assume(ok("alicert", "900")).await, "ok");
    assert_eq!(assume(ok("alicert", "3600")).await, "ok");
    assert_eq!(
        assume(ok("alicert", "899")).await,
        "InvalidParameter.DurationSeconds"
    );
    assert_eq!(
        assume(ok("alicert", "3601")).await,
        "InvalidParameter.DurationSeconds"
    );
    assert_eq!(
        assume(ok("a", "900")).await,
        "InvalidParameter.RoleSessionName"
    );
    assert_eq!(
        assume(ok("bad name", "900")).await,
        "InvalidParameter.RoleSessionName"
    );
    assert_eq!(
        assume(ok(&"x".repeat(65), "900")).await,
        "InvalidParameter.RoleSessionName"
    );
    let mut bad_arn = ok("alicert", "900");
    bad_arn[0].1 = "arn:aws:iam::1:role/x".into();
    assert_eq!(assume(bad_arn).await, "InvalidParameter.RoleArn");
    let mut bad_ext = ok("alicert", "900");
    bad_ext.push(("ExternalId", "a b".into()));
    assert_eq!(assume(bad_ext).await, "InvalidParameter.ExternalId");

    // AssumeRoleWithOIDC with an unknown provider and with a too-short token.
    let http = reqwest::Client::new();
    let oidc = |token: &str, provider: &str| {
        let ts = time::OffsetDateTime::now_utc()
            .format(time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
            ))
            .unwrap();
        let q: Vec<(&str, String)> = vec![
            ("Action", "AssumeRoleWithOIDC".into()),
            ("Version", "2015-04-01".into()),
            ("Format", "JSON".into()),
            ("Timestamp", ts),
            ("RoleArn", ROLE.into()),
            ("OIDCProviderArn", provider.into()),
            ("OIDCToken", token.into()),
            ("RoleSessionName", "alicert".into()),
        ];
        http.get(format!("{}/", emu.base_url())).query(&q).send()
    };
    let code = |r: reqwest::Response| async move {
        r.json::<serde_json::Value>().await.unwrap()["Code"]
            .as_str()
            .unwrap_or("ok")
            .to_string()
    };
    assert_eq!(
        code(oidc(OIDC_TOKEN, IDP).await.unwrap()).await,
        "EntityNotExist.OIDCProvider"
    );
    assert_eq!(
        code(oidc("abc", IDP).await.unwrap()).await,
        "InvalidParameter.OIDCToken"
    );
}

#[tokio::test]
async fn emulated_keys_expire_and_metadata_needs_its_token() {
    let past = time::OffsetDateTime::now_utc().unix_timestamp() - 1;
    let mut seed = Seed::default();
    seed.access_keys.push(AccessKey {
        id: "STS.expired06".into(),
        secret: "s".into(),
        security_token: Some("t".into()),
        expires: Some(past),
        ..AccessKey::default()
    });
    let emu = emulator::start(seed).await;
    let err = emu
        .client("STS.expired06", "s", Some("t"))
        .rpc(Product::Sts, "GetCallerIdentity", &[])
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("InvalidSecurityToken.Expired"), "{err}");

    let md = metadata(&emu, 3600).await;
    let http = reqwest::Client::new();
    let creds = format!(
        "{}/latest/meta-data/ram/security-credentials/EcsRoleAlicert",
        md.base_url()
    );
    // IMDSv2 enforced: no token, no credentials.
    assert_eq!(http.get(&creds).send().await.unwrap().status(), 401);
    // The token needs its TTL header, at most 21600 seconds.
    let token_url = format!("{}/latest/api/token", md.base_url());
    assert_eq!(http.put(&token_url).send().await.unwrap().status(), 400);
    let too_long = http
        .put(&token_url)
        .header("X-aliyun-ecs-metadata-token-ttl-seconds", "21601")
        .send()
        .await
        .unwrap();
    assert_eq!(too_long.status(), 400);
    let token = http
        .put(&token_url)
        .header("X-aliyun-ecs-metadata-token-ttl-seconds", "60")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let ok = http
        .get(&creds)
        .header("X-aliyun-ecs-metadata-token", token)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let body: serde_json::Value = ok.json().await.unwrap();
    assert_eq!(body["Code"], "Success");
    assert!(body["AccessKeyId"].as_str().unwrap().starts_with("STS."));
}
