use super::*;

fn config(toml: &str) -> Config {
    let mut c: Config = toml::from_str(toml).unwrap();
    c.source = "test.toml".into();
    c
}

fn statement<'a>(p: &'a Policy, id: &str) -> &'a Statement {
    p.statements
        .iter()
        .find(|s| s.id == id)
        .unwrap_or_else(|| panic!("no {id} in {}", p.to_json_text()))
}

#[test]
fn a_cdn_certificate_with_a_kms_key_gets_exactly_its_statements() {
    let c = config(
        r#"
        [acme]
        account_key = "kms:alicert/account"
        [aliyun]
        account_id = "1234567890"
        [[certificate]]
        name = "www"
        domains = ["www.example.com", "*.example.com"]
        targets = [{ kind = "cdn", domain = "www.example.com" }]
        "#,
    );
    let p = Policy::for_config(&c).unwrap();
    let ids: Vec<&str> = p.statements.iter().map(|s| s.id).collect();
    assert_eq!(
        ids,
        [
            "AccountKey",
            "Dns01ListZones",
            "DoctorZones",
            "Dns01Records",
            "DeployCdn",
            "CasCertificates",
            "CallerIdentity",
            "DoctorPolicies"
        ]
    );
    // alicert doctor reads the zones' delegation where the records go, and nothing else.
    assert_eq!(
        statement(&p, "DoctorZones").resources,
        statement(&p, "Dns01Records").resources
    );
    assert_eq!(statement(&p, "DoctorPolicies").resources, ["*"]);
    assert_eq!(
        statement(&p, "AccountKey").resources,
        ["acs:kms:cn-hangzhou:1234567890:secret/alicert/account"]
    );
    assert_eq!(
        statement(&p, "Dns01Records").resources,
        [
            "acs:alidns:*:1234567890:domain/www.example.com",
            "acs:alidns:*:1234567890:domain/example.com"
        ]
    );
    assert_eq!(
        statement(&p, "DeployCdn").resources,
        ["acs:cdn:*:1234567890:domain/www.example.com"]
    );
    assert_eq!(statement(&p, "Dns01ListZones").resources, ["*"]);
    // No lock (KMS key, no [lock] bucket), no report, no fan-out: nothing for them.
    let doc = p.document();
    assert_eq!(doc["Version"], "1");
    assert!(doc["Statement"][0].get("Sid").is_none());
}

#[test]
fn oss_key_lock_report_and_fanout_name_their_objects() {
    let c = config(
        r#"
        [acme]
        account_key = "oss://keys/alicert/account.pem"
        [report]
        bucket = "reports"
        [fanout]
        enabled = true
        function = "alicert"
        [metrics]
        [[certificate]]
        name = "a"
        domains = ["a.example.com"]
        targets = [{ kind = "cdn", domains = "covered" }, { kind = "oss-bundle", bucket = "bundles", prefix = "certs", p12_password = "kms:p12" }]
        "#,
    );
    let p = Policy::for_config(&c).unwrap();
    assert_eq!(
        statement(&p, "AccountKey").resources,
        [
            "acs:oss:*:*:keys/alicert/account.pem",
            "acs:oss:*:*:keys/alicert/account.pem.previous",
            "acs:oss:*:*:keys/alicert/account.pem.next"
        ]
    );
    assert_eq!(
        statement(&p, "LockObjects").resources,
        ["acs:oss:*:*:keys/alicert/locks/*"]
    );
    assert_eq!(
        statement(&p, "FailureState").resources,
        ["acs:oss:*:*:keys/alicert/state/*"]
    );
    assert_eq!(
        statement(&p, "LockBucketVersioning").resources,
        ["acs:oss:*:*:keys"]
    );
    assert_eq!(
        statement(&p, "ReportObjects").resources,
        [
            "acs:oss:*:*:reports/alicert/report.html",
            "acs:oss:*:*:reports/alicert/status.json"
        ]
    );
    assert_eq!(
        statement(&p, "FanoutInvoke").resources,
        ["acs:fc:cn-hangzhou:*:functions/alicert"]
    );
    // `domains = "covered"`: the certificate's names, and the listing on `*`.
    assert_eq!(
        statement(&p, "DeployCdn").resources,
        ["acs:cdn:*:*:domain/a.example.com"]
    );
    assert_eq!(
        statement(&p, "DeployCdnList").actions,
        ["cdn:DescribeUserDomains"]
    );
    assert_eq!(
        statement(&p, "DeployOssBundle").resources,
        ["acs:oss:*:*:bundles/certs/*"]
    );
    assert_eq!(
        statement(&p, "ReadKmsSecrets").resources,
        ["acs:kms:cn-hangzhou:*:secret/p12"]
    );
    assert_eq!(statement(&p, "Metrics").actions, ["cms:PutCustomMetric"]);
}

#[test]
fn statements_of_one_purpose_merge() {
    let c = config(
        r#"
        [acme]
        account_key = "file:/tmp/k.pem"
        [[certificate]]
        name = "a"
        domains = ["a.example.com"]
        targets = [{ kind = "cdn", domain = "a.example.com" }]
        [[certificate]]
        name = "b"
        domains = ["b.example.org"]
        targets = [{ kind = "cdn", domain = "b.example.org" }, { kind = "slb", load_balancer_id = "lb-1", listener_port = 443 }]
        "#,
    );
    let p = Policy::for_config(&c).unwrap();
    assert_eq!(
        p.statements.iter().filter(|s| s.id == "DeployCdn").count(),
        1
    );
    assert_eq!(
        statement(&p, "DeployCdn").resources,
        [
            "acs:cdn:*:*:domain/a.example.com",
            "acs:cdn:*:*:domain/b.example.org"
        ]
    );
    assert!(p.statements.iter().all(|s| s.id != "AccountKey"));
    assert_eq!(statement(&p, "DeploySlb").resources, ["*"]);
}

#[test]
fn candidate_zones_are_the_name_and_its_parents() {
    assert_eq!(
        crate::dns::ram::candidate_zones("*.a.b.example.com"),
        ["a.b.example.com", "b.example.com", "example.com"]
    );
    assert_eq!(
        crate::dns::ram::candidate_zones("example.com"),
        ["example.com"]
    );
}

#[test]
fn the_text_is_the_document() {
    let c = config(
        r#"
        [acme]
        account_key = "kms:k"
        [[certificate]]
        name = "a"
        domains = ["a.example.com"]
        targets = [{ kind = "cas" }]
        "#,
    );
    let p = Policy::for_config(&c).unwrap();
    let text = p.to_json_text();
    let parsed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(parsed, p.document());
    assert!(
        text.starts_with("{\n  \"Version\": \"1\",\n  \"Statement\": ["),
        "{text}"
    );
}

const CROSS: &str = r#"
    [acme]
    account_key = "kms:alicert/account"
    [aliyun]
    account_id = "1111111111111111"
    [[zone]]
    name = "shop.example"
    role_arn = "acs:ram::3333333333333333:role/alicert-dns"
    [[certificate]]
    name = "www"
    domains = ["www.example.com", "www.shop.example"]
    targets = [
      { kind = "cdn", domain = "www.example.com", role_arn = "acs:ram::2222222222222222:role/alicert-cdn" },
      { kind = "fc", domain = "www.example.com" },
    ]
    "#;

#[test]
fn what_a_role_reaches_is_in_the_roles_policy_not_the_functions() {
    let c = config(CROSS);
    let p = Policy::for_config(&c).unwrap();
    let text = p.to_json_text();
    assert!(p.statements.iter().all(|s| s.id != "DeployCdn"), "{text}");
    let assume = statement(&p, "AssumeRoles");
    assert_eq!(assume.actions, ["sts:AssumeRole"]);
    assert_eq!(
        assume.resources,
        [
            "acs:ram::2222222222222222:role/alicert-cdn",
            "acs:ram::3333333333333333:role/alicert-dns"
        ]
    );
    // The function's own zone only; the mapped one is the DNS role's.
    let records = statement(&p, "Dns01Records");
    assert!(records
        .resources
        .contains(&"acs:alidns:*:1111111111111111:domain/example.com".to_string()));
    assert!(!text.contains("shop.example"), "{text}");
    // No target of the function takes a CAS id (the CDN is in the other account).
    assert!(
        p.statements.iter().all(|s| s.id != "CasCertificates"),
        "{text}"
    );

    let cdn = Policy::for_role(&c, "acs:ram::2222222222222222:role/alicert-cdn").unwrap();
    let ids: Vec<&str> = cdn.statements.iter().map(|s| s.id).collect();
    assert_eq!(ids, ["DeployCdn"], "{}", cdn.to_json_text());
    assert_eq!(
        cdn.statements[0].resources,
        ["acs:cdn:*:2222222222222222:domain/www.example.com"]
    );

    let dns = Policy::for_role(&c, "acs:ram::3333333333333333:role/alicert-dns").unwrap();
    let records = statement(&dns, "Dns01Records");
    assert_eq!(
        records.resources,
        [
            "acs:alidns:*:3333333333333333:domain/www.shop.example",
            "acs:alidns:*:3333333333333333:domain/shop.example"
        ]
    );
    statement(&dns, "Dns01ListZones");
    assert!(!dns.to_json_text().contains("example.com"));
}

#[test]
fn a_role_the_config_does_not_name_has_no_policy() {
    let c = config(CROSS);
    for (role, says) in [
        (
            "acs:ram::4444444444444444:role/other",
            "no [[zone]] or target",
        ),
        ("acs:ram::x:role/other", "--role"),
    ] {
        let e = Policy::for_role(&c, role).unwrap_err().to_string();
        assert!(e.contains(says), "{e}");
    }
}
