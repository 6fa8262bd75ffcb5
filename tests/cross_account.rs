//! Cross-account `role_arn` (issue 14 part 3): DNS in one emulated account, CDN in another,
//! reached through a role the function assumes (STS AssumeRole with its own key), with the
//! function's credentials restricted to `alicert policy` and the role's to `alicert policy
//! --role`; the emulator's accounts refuse another account's resources without the role.
mod support;

use alicert::aliyun::{AliyunClient, Product};
use alicert::error::Error;
use aliyun_emulator::{role_arn, EmulatorState};
use serde_json::Value;
use support::emulator::{self, Emulator, Seed};
use support::rig::Rig;
use support::scenario::Scenario;

/// The function's account (the emulator's default, where the rig's key lives).
const A: &str = "1234567890123456";
/// The other account.
const B: &str = "2222222222222222";

fn cdn_role() -> String {
    role_arn(B, "alicert-cdn")
}

fn dns_role() -> String {
    role_arn(B, "alicert-dns")
}

/// Certificate `www` for two CDN domains of account B, both through `role`, and (`own`) one
/// of the function's account, which takes the CAS hub's copy.
fn cdn_in_b(role: &str, own: bool) -> String {
    let (name, target) = match own {
        true => (
            r#", "own.example.com""#,
            r#"{ kind = "cdn", domain = "own.example.com" },"#,
        ),
        false => ("", ""),
    };
    format!(
        r#"
[[certificate]]
name = "www"
domains = ["www.example.com", "static.example.com"{name}]
targets = [
  {{ kind = "cdn", domain = "www.example.com", role_arn = "{role}" }},
  {{ kind = "cdn", domain = "static.example.com", role_arn = "{role}" }},
  {target}
]
"#
    )
}

fn seed_cdn_in_b(trusted: &[&str]) -> Seed {
    Seed::default()
        .zone("example.com")
        .cdn_domain_in(B, "www.example.com")
        .cdn_domain_in(B, "static.example.com")
        .cdn_domain("own.example.com")
        .role_in(B, "alicert-cdn", trusted)
}

/// The function restricted to `alicert policy`, the role to `alicert policy --role`.
fn restrict(rig: &Rig, role: &str) -> (Value, Value) {
    let own = rig.restrict_to_policy();
    let theirs = rig.role_policy(role);
    rig.emulator.set_role_policy(role, &theirs).unwrap();
    (own, theirs)
}

fn actions_and_resources(policy: &Value) -> (Vec<String>, Vec<String>) {
    let (mut actions, mut resources) = (Vec::new(), Vec::new());
    for s in policy["Statement"].as_array().unwrap() {
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_string())
                .collect()
        };
        actions.extend(strings(&s["Action"]));
        resources.extend(strings(&s["Resource"]));
    }
    (actions, resources)
}

/// The access key of the one session of `role`, asserting there is exactly one.
#[track_caller]
fn one_session(state: &EmulatorState, role: &str) -> String {
    let sessions: Vec<_> = state
        .sts
        .sessions
        .iter()
        .filter(|s| s.role == role)
        .collect();
    assert_eq!(sessions.len(), 1, "one AssumeRole per role: {sessions:?}");
    assert_eq!(state.calls_to("AssumeRole").len(), 1);
    assert_eq!(sessions[0].session_name, "alicert-www");
    sessions[0].access_key_id.clone()
}

fn refused_calls(state: &EmulatorState) -> Vec<String> {
    state
        .calls
        .iter()
        .filter(|c| c.http_status == 403)
        .map(|c| format!("{} {:?}", c.action, c.code))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_in_one_account_cdn_in_another_through_the_role() {
    let role = cdn_role();
    let rig = Scenario::from_toml(seed_cdn_in_b(&[A]), &cdn_in_b(&role, true))
        .start()
        .await;
    let (own, theirs) = restrict(&rig, &role);
    let in_b = ["www.example.com", "static.example.com"];

    // The function may assume exactly the role, and reaches no CDN domain of B itself.
    let (actions, resources) = actions_and_resources(&own);
    assert!(actions.iter().any(|a| a == "sts:AssumeRole"), "{own}");
    assert!(resources.contains(&role), "{own}");
    let cdn_of_b = |r: &String| r.starts_with("acs:cdn:") && in_b.iter().any(|d| r.ends_with(d));
    assert!(!resources.iter().any(cdn_of_b), "{own}");
    // The role's policy: the CDN domains in its own account, no CAS (no hub copy there).
    let (actions, resources) = actions_and_resources(&theirs);
    assert!(actions.iter().all(|a| a.starts_with("cdn:")), "{theirs}");
    for d in in_b {
        assert!(
            resources.contains(&format!("acs:cdn:*:{B}:domain/{d}")),
            "{theirs}"
        );
    }
    assert!(!theirs.to_string().contains("own.example.com"), "{theirs}");

    let run = rig.invoke("{}").await;
    let c = run.certificate_with("www", "issued");
    assert_eq!(
        c.target_statuses(),
        ["deployed", "deployed", "deployed"],
        "{}",
        run.stdout
    );

    let state = rig.emulator.state();
    assert_eq!(refused_calls(&state), Vec::<String>::new());
    let session = one_session(&state, &role);
    // The role's key made exactly the calls on B's CDN domains, and nothing else made any.
    for call in &state.calls {
        let domain = call.params.get("DomainName").map_or("", |d| d.as_str());
        let on_b = call.product == "cdn" && in_b.contains(&domain);
        assert_eq!(call.access_key_id == session, on_b, "{call:?}");
    }
    for d in in_b {
        let served = state.cdn_cert(d).expect("deployed");
        // The PEM itself: the CAS hub's copy is in the function's account.
        assert_eq!(served.cert_type, "upload", "{served:?}");
        let serial = &served.info.serial_no;
        assert!(c.serial().eq_ignore_ascii_case(serial), "{served:?}");
    }
    // The function's own CDN domain takes the hub's copy, as ever.
    let own_cdn = state.cdn_cert("own.example.com").expect("deployed");
    assert_eq!(own_cdn.cert_type, "cas", "{own_cdn:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_role_arn_the_other_accounts_domain_does_not_exist() {
    let toml = cdn_in_b("", false).replace(r#", role_arn = """#, "");
    let rig = Scenario::from_toml(seed_cdn_in_b(&[A]), &toml)
        .start()
        .await;
    let run = rig.invoke("{}").await;
    let c = run.certificate("www");
    assert_eq!(c.status(), "failed", "{}", run.stdout);
    for t in &c.targets {
        assert_eq!(t.status(), "failed", "{}", run.stdout);
        assert_eq!(t.error().code, "InvalidDomain.NotFound", "{}", run.stdout);
    }
    let ids: Vec<&str> = c.targets.iter().map(|t| t.id.as_str()).collect();
    assert!(ids.contains(&"www.example.com"), "{ids:?}");
    assert!(rig.emulator.state().calls_to("AssumeRole").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_that_does_not_trust_the_account_fails_naming_target_and_role() {
    let role = cdn_role();
    let rig = Scenario::from_toml(
        seed_cdn_in_b(&["3333333333333333"]),
        &cdn_in_b(&role, false),
    )
    .start()
    .await;
    let run = rig.invoke("{}").await;
    let c = run.certificate("www");
    assert_eq!(c.status(), "failed", "{}", run.stdout);
    let mut ids = Vec::new();
    for t in &c.targets {
        assert_eq!(t.status(), "failed", "{}", run.stdout);
        let message = &t.error().message;
        assert!(message.contains(&role), "{message}");
        assert!(message.contains("NoPermission"), "{message}");
        ids.push(t.id.clone());
    }
    ids.sort();
    assert_eq!(ids, ["static.example.com", "www.example.com"]);
    // Nothing was ordered for targets that cannot be read.
    let state = rig.emulator.state();
    assert!(state.calls_to("SetCdnDomainSSLCertificate").is_empty());
    assert!(state.calls_to("AddDomainRecord").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zone_in_another_account_through_a_zone_mapping() {
    let role = dns_role();
    let seed = Seed::default()
        .zone("unrelated.org")
        .zone_in(B, "example.com")
        .cdn_domain("www.example.com")
        .role_in(B, "alicert-dns", &[A]);
    let toml = format!(
        r#"
[[zone]]
name = "example.com"
role_arn = "{role}"

[[certificate]]
name = "www"
domains = ["www.example.com"]
targets = [{{ kind = "cdn", domain = "www.example.com" }}]
"#
    );
    let rig = Scenario::from_toml(seed, &toml).start().await;
    let (own, theirs) = restrict(&rig, &role);
    let (_, resources) = actions_and_resources(&own);
    assert!(
        !resources.iter().any(|r| r.starts_with("acs:alidns:")),
        "the zone's records are the role's: {own}"
    );
    let (actions, resources) = actions_and_resources(&theirs);
    assert!(actions.iter().all(|a| a.starts_with("alidns:")), "{theirs}");
    assert!(
        resources.contains(&format!("acs:alidns:*:{B}:domain/example.com")),
        "{theirs}"
    );

    let run = rig.invoke("{}").await;
    run.certificate_with("www", "issued");
    let state = rig.emulator.state();
    assert_eq!(refused_calls(&state), Vec::<String>::new());
    let session = one_session(&state, &role);
    let added = state.calls_to("AddDomainRecord");
    assert!(!added.is_empty());
    for call in state.calls.iter().filter(|c| c.product == "alidns") {
        // Every call on the zone is the role's (finding it in B too); only the listing of
        // the function's own zones is not.
        let p = &call.params;
        let on_zone = ["DomainName", "RecordId", "KeyWord"]
            .iter()
            .any(|k| p.contains_key(*k));
        assert_eq!(call.access_key_id == session, on_zone, "{call:?}");
    }
    assert!(
        state.records_deleted.len() >= added.len(),
        "the TXT records were deleted again through the role"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_zone_mapping_fails_only_the_names_under_it() {
    let closed = role_arn(B, "closed");
    let seed = Seed::default()
        .zone("example.com")
        .zone_in(B, "shop.example")
        .cdn_domain("www.example.com")
        .cdn_domain("www.shop.example")
        .role_in(B, "closed", &[]);
    let toml = format!(
        r#"
[[zone]]
name = "shop.example"
role_arn = "{closed}"

[[certificate]]
name = "www"
domains = ["www.example.com"]
targets = [{{ kind = "cdn", domain = "www.example.com" }}]

[[certificate]]
name = "shop"
domains = ["www.shop.example"]
targets = [{{ kind = "cdn", domain = "www.shop.example" }}]
"#
    );
    let rig = Scenario::from_toml(seed, &toml).start().await;
    let run = rig.invoke("{}").await;
    assert_eq!(run.certificate("www").status(), "issued", "{}", run.stdout);
    let shop = run.certificate("shop");
    assert_eq!(shop.status(), "failed", "{}", run.stdout);
    let message = &shop.error().message;
    for part in ["shop.example", closed.as_str(), "NoPermission"] {
        assert!(message.contains(part), "{part} missing: {message}");
    }
}

// ---- the emulator's accounts, directly ----

const AK_A: &str = "LTAI5tAccountA01";
const AK_B: &str = "LTAI5tAccountB01";

async fn two_accounts() -> Emulator {
    emulator::start(
        Seed::default()
            .access_key(AK_A, "secret-a")
            .account_key(B, AK_B, "secret-b")
            .zone("a.example")
            .zone_in(B, "b.example")
            .cdn_domain("www.a.example")
            .cdn_domain_in(B, "www.b.example")
            .role_in(B, "reader", &[A]),
    )
    .await
}

#[track_caller]
fn code(r: Result<Value, Error>) -> String {
    match r {
        Err(Error::Aliyun { code, .. }) => code,
        other => panic!("not refused by Alibaba Cloud: {other:?}"),
    }
}

async fn zones(c: &AliyunClient) -> Vec<String> {
    let v = c
        .rpc(Product::Alidns, "DescribeDomains", &[])
        .await
        .unwrap();
    v["Domains"]["Domain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["DomainName"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn another_accounts_resources_do_not_exist_without_the_role() {
    let emu = two_accounts().await;
    let a = emu.client(AK_A, "secret-a", None);
    let b = emu.client(AK_B, "secret-b", None);
    assert_eq!(zones(&a).await, ["a.example"]);
    assert_eq!(zones(&b).await, ["b.example"]);

    let records = [("DomainName", "b.example")];
    let listed = a.rpc(Product::Alidns, "DescribeDomainRecords", &records);
    assert_eq!(code(listed.await), "InvalidDomainName.NoExist");
    let add = [
        ("DomainName", "b.example"),
        ("RR", "_acme-challenge"),
        ("Type", "TXT"),
        ("Value", "x"),
    ];
    let added = a.rpc(Product::Alidns, "AddDomainRecord", &add).await;
    assert_eq!(code(added), "InvalidDomainName.NoExist");
    // B's own record is not A's to delete.
    let id = b
        .rpc(Product::Alidns, "AddDomainRecord", &add)
        .await
        .unwrap()["RecordId"]
        .as_str()
        .unwrap()
        .to_string();
    let record = [("RecordId", id.as_str())];
    let deleted = a.rpc(Product::Alidns, "DeleteDomainRecord", &record);
    assert_eq!(code(deleted.await), "DomainRecordNotBelongToUser");

    let cdn = [("DomainName", "www.b.example")];
    let read = a.rpc(Product::Cdn, "DescribeDomainCertificateInfo", &cdn);
    assert_eq!(code(read.await), "InvalidDomain.NotFound");
    let listed = a
        .rpc(Product::Cdn, "DescribeUserDomains", &[])
        .await
        .unwrap();
    let names: Vec<&str> = listed["Domains"]["PageData"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["DomainName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["www.a.example"]);

    // A's CAS upload is not there for B's CDN domain (CertType=cas), B's own is.
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["www.b.example".to_string()]).unwrap();
    let (cert, key) = (params.self_signed(&key).unwrap().pem(), key.serialize_pem());
    let upload = |c: &AliyunClient, name: &'static str| {
        let form = [("Cert", cert.clone()), ("Key", key.clone())];
        let c = c.clone();
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let query = [("Name", name)];
            let up = c.rpc_with_form(Product::Cas, "UploadUserCertificate", &query, &form);
            up.await.unwrap()["CertId"].as_u64().unwrap().to_string()
        }
    };
    for (uploader, name, ok) in [(&a, "from-a", false), (&b, "from-b", true)] {
        let id = upload(uploader, name).await;
        let set = [
            ("DomainName", "www.b.example"),
            ("SSLProtocol", "on"),
            ("CertType", "cas"),
            ("CertId", id.as_str()),
        ];
        let r = b
            .rpc(Product::Cdn, "SetCdnDomainSSLCertificate", &set)
            .await;
        match ok {
            true => drop(r.unwrap()),
            false => assert_eq!(code(r), "Certificate.NotFound"),
        }
    }
}

#[tokio::test]
async fn assume_role_acts_in_the_roles_account_and_needs_its_trust() {
    let emu = two_accounts().await;
    let a = emu.client(AK_A, "secret-a", None);
    let b = emu.client(AK_B, "secret-b", None);
    let reader = role_arn(B, "reader");
    let arn = alicert::aliyun::RoleArn::parse(&reader).unwrap();
    let assumed = a.assuming(&arn, "www").await.unwrap();
    assert_eq!(zones(&assumed).await, ["b.example"]);
    let cdn = [("DomainName", "www.b.example")];
    assumed
        .rpc(Product::Cdn, "DescribeDomainCertificateInfo", &cdn)
        .await
        .unwrap();
    // The session keeps the caller's account out: A's zone is not there for it.
    let records = [("DomainName", "a.example")];
    let listed = assumed.rpc(Product::Alidns, "DescribeDomainRecords", &records);
    assert_eq!(code(listed.await), "InvalidDomainName.NoExist");

    // The trust list names A only: even B's own key is refused, and a role that is not
    // there does not exist.
    let params = [
        ("RoleArn", reader.as_str()),
        ("RoleSessionName", "alicert-www"),
    ];
    assert_eq!(
        code(b.rpc(Product::Sts, "AssumeRole", &params).await),
        "NoPermission"
    );
    let own_role = role_arn(A, "missing");
    let params = [("RoleArn", own_role.as_str()), ("RoleSessionName", "x1")];
    assert_eq!(
        code(b.rpc(Product::Sts, "AssumeRole", &params).await),
        "EntityNotExist.Role"
    );
    let emu2 = emulator::start(Seed::default().access_key(AK_A, "secret-a").role_in(
        B,
        "closed",
        &[],
    ))
    .await;
    let closed = role_arn(B, "closed");
    let params = [("RoleArn", closed.as_str()), ("RoleSessionName", "x1")];
    let a2 = emu2.client(AK_A, "secret-a", None);
    assert_eq!(
        code(a2.rpc(Product::Sts, "AssumeRole", &params).await),
        "NoPermission"
    );
    assert!(emu2.state().sts.sessions.is_empty());
}

#[tokio::test]
async fn concurrent_users_of_a_role_share_one_assume_role() {
    let emu = two_accounts().await;
    let a = emu.client(AK_A, "secret-a", None);
    let arn = alicert::aliyun::RoleArn::parse(&role_arn(B, "reader")).unwrap();
    let many = (0..8).map(|_| a.assuming(&arn, "www"));
    let clients = futures_util::future::join_all(many).await;
    assert!(clients.iter().all(|c| c.is_ok()));
    let sessions = |emu: &Emulator| emu.state().sts.sessions.clone();
    assert_eq!(sessions(&emu).len(), 1, "{:?}", sessions(&emu));
    // Another certificate has its own session name, so its own session; invocation-wide work
    // (no certificate) reuses one.
    a.assuming(&arn, "shop").await.unwrap();
    a.assuming(&arn, "").await.unwrap();
    let names: Vec<String> = sessions(&emu).into_iter().map(|s| s.session_name).collect();
    assert_eq!(names, ["alicert-www", "alicert-shop"]);
}
