//! The emulator holds ESA 2024-09-10 to its SDK models (alibabacloud-esa20240910 3.16.0) and the
//! quota the issue names: required parameters, enum values, page sizes, the site reached through
//! its own region, the per-site custom certificate quota (default 2), unknown ids, and SaaS
//! hostnames that stay `configuring` after an update. Each test shows the violation refused.
mod support;

use alicert::aliyun::client::RetryPolicy;
use alicert::aliyun::{AliyunClient, Product};
use alicert::error::Error;
use serde_json::Value;
use support::emulator::{self, Emulator, Seed};

const AK: &str = "LTAI5tEsaKey0001";
const SECRET: &str = "esa-secret-0001";
const SITE: u64 = 1_234_567_890_123;

async fn start(seed: Seed) -> Emulator {
    emulator::start(seed.access_key(AK, SECRET)).await
}

fn client(emu: &Emulator) -> AliyunClient {
    emu.client(AK, SECRET, None).with_retry(RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::default()
    })
}

fn code(e: Error) -> String {
    match e {
        Error::Aliyun { code, .. } => code,
        other => panic!("not an Alibaba error: {other}"),
    }
}

fn self_signed(name: &str) -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec![name.to_string()]).unwrap();
    (params.self_signed(&key).unwrap().pem(), key.serialize_pem())
}

async fn call(c: &AliyunClient, action: &str, params: &[(&str, &str)]) -> Result<Value, Error> {
    c.rpc(Product::Esa, action, params).await
}

/// A CAS certificate for `name`; its CertId.
fn cas_cert(emu: &Emulator, name: &str) -> String {
    let (cert, key) = self_signed(name);
    emu.put_cas_certificate(&format!("cas-{name}"), &cert, &key)
        .to_string()
}

async fn set_cas(c: &AliyunClient, cas_id: &str) -> Result<Value, Error> {
    let site = SITE.to_string();
    call(
        c,
        "SetCertificate",
        &[
            ("SiteId", &site),
            ("Type", "cas"),
            ("CasId", cas_id),
            ("Region", "cn-hangzhou"),
        ],
    )
    .await
}

#[tokio::test]
async fn set_certificate_checks_its_parameters() {
    let emu = start(Seed::default().esa_site(SITE, "example.com")).await;
    let c = client(&emu);
    let cas = cas_cert(&emu, "www.example.com");
    let site = SITE.to_string();
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("Type", "cas"), ("CasId", &cas), ("Region", "cn-hangzhou")],
            "MissingParameter.SiteId",
        ),
        (
            vec![
                ("SiteId", &site),
                ("CasId", &cas),
                ("Region", "cn-hangzhou"),
            ],
            "MissingParameter.Type",
        ),
        (
            vec![("SiteId", &site), ("Type", "pem"), ("CasId", &cas)],
            "InvalidParameter.Type",
        ),
        (
            vec![
                ("SiteId", &site),
                ("Type", "cas"),
                ("Region", "cn-hangzhou"),
            ],
            "MissingParameter.CasId",
        ),
        (
            vec![("SiteId", &site), ("Type", "cas"), ("CasId", &cas)],
            "MissingParameter.Region",
        ),
        (
            vec![
                ("SiteId", &site),
                ("Type", "cas"),
                ("CasId", &cas),
                ("Region", "cn-shanghai"),
            ],
            "InvalidParameter.Region",
        ),
        (
            vec![
                ("SiteId", &site),
                ("Type", "cas"),
                ("CasId", "987654"),
                ("Region", "cn-hangzhou"),
            ],
            "ResourceNotFound.Certificate",
        ),
        (
            vec![
                ("SiteId", "abc"),
                ("Type", "cas"),
                ("CasId", &cas),
                ("Region", "cn-hangzhou"),
            ],
            "InvalidParameter.SiteId",
        ),
        (
            vec![
                ("SiteId", "42"),
                ("Type", "cas"),
                ("CasId", &cas),
                ("Region", "cn-hangzhou"),
            ],
            "SiteNotFound",
        ),
        (
            vec![("SiteId", &site), ("Type", "upload"), ("Name", "x")],
            "MissingParameter.Certificate",
        ),
    ];
    for (params, want) in cases {
        let e = call(&c, "SetCertificate", &params).await.unwrap_err();
        assert_eq!(code(e), want, "{params:?}");
    }
    assert!(emu.state().esa_certs(SITE).is_empty());
    // The valid call: named after the CAS certificate when no Name is given.
    let id = set_cas(&c, &cas).await.unwrap()["Id"]
        .as_str()
        .unwrap()
        .to_string();
    let state = emu.state();
    let certs = &state.esa_site(SITE).unwrap().certificates;
    assert_eq!(
        (certs[0].id.as_str(), certs[0].name.as_str()),
        (id.as_str(), "cas-www.example.com")
    );
}

#[tokio::test]
async fn the_site_answers_only_at_its_own_regions_endpoint() {
    let emu = start(Seed::default().esa_site(SITE, "example.com")).await;
    let c = client(&emu);
    let site = SITE.to_string();
    call(&c, "ListCertificates", &[("SiteId", &site)])
        .await
        .unwrap();
    let region = alicert::ident::RegionId::parse("ap-southeast-1").unwrap();
    let abroad = c.for_region(&region);
    let e = call(&abroad, "ListCertificates", &[("SiteId", &site)])
        .await
        .unwrap_err();
    assert_eq!(code(e), "SiteNotFound");
}

#[tokio::test]
async fn the_plans_quota_refuses_a_third_custom_certificate() {
    let emu = start(
        Seed::default()
            .esa_site(SITE, "example.com")
            .esa_site(SITE + 1, "big.example")
            .esa_site_quota(SITE + 1, 3),
    )
    .await;
    let c = client(&emu);
    let (foreign, _) = self_signed("old.example.com");
    emu.put_esa_certificate(SITE, "console-upload", &foreign);
    let a = cas_cert(&emu, "a.example.com");
    let b = cas_cert(&emu, "b.example.com");
    set_cas(&c, &a).await.unwrap();
    // Default quota 2: the third (upload and cas count alike) is refused, nothing added.
    let e = set_cas(&c, &b).await.unwrap_err();
    assert_eq!(code(e), "Certificate.OverQuota");
    let state = emu.state();
    assert_eq!(state.esa_certs(SITE).len(), 2);
    assert_eq!(state.esa_site(SITE).unwrap().refused_quota, 1);
    // Replacing one by Id needs no room.
    let first = state.esa_site(SITE).unwrap().certificates[1].id.clone();
    let site = SITE.to_string();
    call(
        &c,
        "SetCertificate",
        &[
            ("SiteId", &site),
            ("Type", "cas"),
            ("CasId", &b),
            ("Region", "cn-hangzhou"),
            ("Id", &first),
        ],
    )
    .await
    .unwrap();
    // After a delete there is room again.
    call(
        &c,
        "DeleteCertificate",
        &[("SiteId", &site), ("Id", &first)],
    )
    .await
    .unwrap();
    set_cas(&c, &a).await.unwrap();
    // A site whose plan holds 3.
    let big = (SITE + 1).to_string();
    for id in [&a, &b, &a] {
        call(
            &c,
            "SetCertificate",
            &[
                ("SiteId", &big),
                ("Type", "cas"),
                ("CasId", id),
                ("Region", "cn-hangzhou"),
            ],
        )
        .await
        .unwrap();
    }
    let e = call(
        &c,
        "SetCertificate",
        &[
            ("SiteId", &big),
            ("Type", "cas"),
            ("CasId", &b),
            ("Region", "cn-hangzhou"),
        ],
    )
    .await
    .unwrap_err();
    assert_eq!(code(e), "Certificate.OverQuota");
}

#[tokio::test]
async fn listings_page_within_limits_and_unknown_ids_are_not_found() {
    let emu = start(
        Seed::default()
            .esa_site(SITE, "example.com")
            .esa_site_quota(SITE, 5)
            .esa_hostname(SITE, "a.example.com", None),
    )
    .await;
    let c = client(&emu);
    for name in ["a", "b", "c"] {
        set_cas(&c, &cas_cert(&emu, &format!("{name}.example.com")))
            .await
            .unwrap();
    }
    let site = SITE.to_string();
    let p1 = call(
        &c,
        "ListCertificates",
        &[("SiteId", &site), ("PageSize", "2")],
    )
    .await
    .unwrap();
    let p2 = call(
        &c,
        "ListCertificates",
        &[("SiteId", &site), ("PageSize", "2"), ("PageNumber", "2")],
    )
    .await
    .unwrap();
    assert_eq!(p1["TotalCount"], 3);
    assert_eq!(p1["Result"].as_array().unwrap().len(), 2);
    assert_eq!(p2["Result"].as_array().unwrap().len(), 1);
    assert!(
        p1["Result"][0]["NotAfter"].as_str().unwrap().contains(' '),
        "YYYY-MM-DD HH:MM:SS"
    );
    for (action, params, want) in [
        (
            "ListCertificates",
            vec![("SiteId", site.as_str()), ("PageSize", "101")],
            "InvalidParameter.PageSize",
        ),
        (
            "ListCertificates",
            vec![("SiteId", site.as_str()), ("PageNumber", "0")],
            "InvalidParameter.PageNumber",
        ),
        (
            "ListCustomHostnames",
            vec![("SiteId", site.as_str()), ("PageSize", "501")],
            "InvalidParameter.PageSize",
        ),
        (
            "ListCustomHostnames",
            vec![
                ("SiteId", site.as_str()),
                ("Hostname", "a"),
                ("NameMatchType", "regex"),
            ],
            "InvalidParameter.NameMatchType",
        ),
        (
            "GetCertificate",
            vec![("SiteId", site.as_str()), ("Id", "1")],
            "Certificate.NotFound",
        ),
        (
            "GetCertificate",
            vec![("SiteId", site.as_str())],
            "MissingParameter.Id",
        ),
        (
            "DeleteCertificate",
            vec![("SiteId", site.as_str()), ("Id", "1")],
            "Certificate.NotFound",
        ),
        (
            "GetCustomHostname",
            vec![("HostnameId", "1")],
            "Hostname.NotFound",
        ),
        (
            "GetCustomHostname",
            vec![("HostnameId", "x")],
            "InvalidParameter.HostnameId",
        ),
        ("CreateSite", vec![], "InvalidAction.NotFound"),
    ] {
        let e = call(&c, action, &params).await.unwrap_err();
        assert_eq!(code(e), want, "{action} {params:?}");
    }
    // Exact is the default match: a prefix finds nothing unless asked for.
    let exact = call(
        &c,
        "ListCustomHostnames",
        &[("SiteId", &site), ("Hostname", "a.example")],
    )
    .await
    .unwrap();
    assert_eq!(exact["TotalCount"], 0);
    let prefix = call(
        &c,
        "ListCustomHostnames",
        &[
            ("SiteId", &site),
            ("Hostname", "a.example"),
            ("NameMatchType", "prefix"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(prefix["TotalCount"], 1);
}

#[tokio::test]
async fn a_hostname_update_applies_after_configuring_and_checks_its_parameters() {
    let emu = start(
        Seed::default()
            .esa_site(SITE, "example.com")
            .esa_hostname(SITE, "shop.example.com", Some(555))
            .esa_hostname_ms(400),
    )
    .await;
    let c = client(&emu);
    let site = SITE.to_string();
    let list = call(&c, "ListCustomHostnames", &[("SiteId", &site)])
        .await
        .unwrap();
    let id = list["Hostnames"][0]["HostnameId"]
        .as_u64()
        .unwrap()
        .to_string();
    let good = cas_cert(&emu, "shop.example.com");
    let wrong = cas_cert(&emu, "other.example.com");
    for (params, want) in [
        (vec![("SslFlag", "on")], "MissingParameter.CertType"),
        (vec![("SslFlag", "yes")], "InvalidParameter.SslFlag"),
        (
            vec![("SslFlag", "on"), ("CertType", "pem")],
            "InvalidParameter.CertType",
        ),
        (
            vec![
                ("SslFlag", "on"),
                ("CertType", "cas"),
                ("CasId", good.as_str()),
            ],
            "MissingParameter.CasRegion",
        ),
        (
            vec![
                ("SslFlag", "on"),
                ("CertType", "cas"),
                ("CasRegion", "cn-hangzhou"),
            ],
            "MissingParameter.CasId",
        ),
        (
            vec![
                ("SslFlag", "on"),
                ("CertType", "cas"),
                ("CasId", wrong.as_str()),
                ("CasRegion", "cn-hangzhou"),
            ],
            "Certificate.DomainNotMatch",
        ),
    ] {
        let mut all = vec![("HostnameId", id.as_str())];
        all.extend(params.iter().copied());
        let e = call(&c, "UpdateCustomHostname", &all).await.unwrap_err();
        assert_eq!(code(e), want, "{params:?}");
    }
    call(
        &c,
        "UpdateCustomHostname",
        &[
            ("HostnameId", &id),
            ("SslFlag", "on"),
            ("CertType", "cas"),
            ("CasId", &good),
            ("CasRegion", "cn-hangzhou"),
            ("RecordId", "555"),
        ],
    )
    .await
    .unwrap();
    // Configuring: the old (no) certificate is still what the hostname serves.
    let m = &call(&c, "GetCustomHostname", &[("HostnameId", &id)])
        .await
        .unwrap()["CustomHostnameModel"];
    assert_eq!(m["Status"], "configuring");
    assert_eq!(m["SslFlag"], "off");
    assert!(m["Certificate"].is_null());
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let m = &call(&c, "GetCustomHostname", &[("HostnameId", &id)])
        .await
        .unwrap()["CustomHostnameModel"];
    assert_eq!(m["Status"], "active");
    assert_eq!(m["SslFlag"], "on");
    assert_eq!(m["CertType"], "cas");
    assert_eq!(m["CasId"].as_u64().unwrap().to_string(), good);
    assert!(m["Certificate"]
        .as_str()
        .unwrap()
        .contains("BEGIN CERTIFICATE"));
    assert_eq!(m["RecordId"], 555);
    let state = emu.state();
    assert_eq!(
        state
            .esa_hostname("shop.example.com")
            .unwrap()
            .record_dropped,
        0
    );
    // CAS refuses to delete a certificate the hostname serves.
    let e = c
        .rpc(Product::Cas, "DeleteUserCertificate", &[("CertId", &good)])
        .await
        .unwrap_err();
    assert_ne!(code(e), "", "CAS must refuse");
    assert!(emu
        .state()
        .cas_certs
        .iter()
        .any(|x| x.cert_id.to_string() == good));
}

/// ListSites pages (PageSize 1 to 500, PageNumber from 1) and lists only the sites of the
/// endpoint's own region.
#[tokio::test]
async fn list_sites_pages_within_500_and_keeps_to_its_region() {
    let emu = start((0..3).fold(Seed::default(), |s, i| {
        s.esa_site(SITE + i, &format!("site{i}.example"))
    }))
    .await;
    let c = client(&emu);
    let first = call(&c, "ListSites", &[("PageNumber", "1"), ("PageSize", "2")])
        .await
        .unwrap();
    assert_eq!(first["TotalCount"], 3);
    assert_eq!(first["Sites"].as_array().unwrap().len(), 2);
    assert_eq!(first["Sites"][0]["SiteId"], SITE);
    let second = call(&c, "ListSites", &[("PageNumber", "2"), ("PageSize", "2")])
        .await
        .unwrap();
    assert_eq!(second["Sites"][0]["SiteName"], "site2.example");
    for (params, want) in [
        (vec![("PageSize", "501")], "InvalidParameter.PageSize"),
        (vec![("PageSize", "0")], "InvalidParameter.PageSize"),
        (vec![("PageNumber", "0")], "InvalidParameter.PageNumber"),
    ] {
        let e = call(&c, "ListSites", &params).await.unwrap_err();
        assert_eq!(code(e), want, "{params:?}");
    }
    assert!(call(&c, "ListSites", &[("PageSize", "500")]).await.is_ok());
    let region = alicert::ident::RegionId::parse("ap-southeast-1").unwrap();
    let abroad = call(&c.for_region(&region), "ListSites", &[])
        .await
        .unwrap();
    assert_eq!(abroad["TotalCount"], 0);
}
