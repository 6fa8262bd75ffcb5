//! The one table of target kinds: the `kind` string, and how its table becomes a target. Each
//! kind's `Params` is parsed with serde (`deny_unknown_fields`) by [`from_table`], which words
//! serde's errors the way alicert's config errors read (the key, the known keys).
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

use super::discovery::{Discovery, ListDomains};
use super::{
    alb, apig, apigateway, cas, cas_deploy, cdn, dcdn, ddos, esa, esa_saas, fc, fc2, ga, live, nlb,
    oss, oss_bundle, slb, vod, waf, Target,
};
use crate::aliyun::ram::{Scope, Statement};
use crate::aliyun::AliyunClient;

/// The `kind` of a target in the config and in results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum TargetKind {
    #[serde(rename = "cas")]
    Cas,
    #[serde(rename = "cdn")]
    Cdn,
    #[serde(rename = "dcdn")]
    Dcdn,
    #[serde(rename = "apigateway")]
    ApiGateway,
    #[serde(rename = "slb")]
    Slb,
    #[serde(rename = "alb")]
    Alb,
    #[serde(rename = "oss")]
    Oss,
    #[serde(rename = "fc")]
    Fc,
    #[serde(rename = "oss-bundle")]
    OssBundle,
    #[serde(rename = "esa")]
    Esa,
    #[serde(rename = "esa-saas")]
    EsaSaas,
    #[serde(rename = "waf")]
    Waf,
    #[serde(rename = "live")]
    Live,
    #[serde(rename = "vod")]
    Vod,
    #[serde(rename = "ddos")]
    Ddos,
    #[serde(rename = "apig")]
    Apig,
    #[serde(rename = "nlb")]
    Nlb,
    #[serde(rename = "ga")]
    Ga,
    #[serde(rename = "cas-deploy")]
    CasDeploy,
    #[serde(rename = "fc2")]
    Fc2,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Cas => "cas",
            TargetKind::Cdn => "cdn",
            TargetKind::Dcdn => "dcdn",
            TargetKind::ApiGateway => "apigateway",
            TargetKind::Slb => "slb",
            TargetKind::Alb => "alb",
            TargetKind::Oss => "oss",
            TargetKind::Fc => "fc",
            TargetKind::OssBundle => "oss-bundle",
            TargetKind::Esa => "esa",
            TargetKind::EsaSaas => "esa-saas",
            TargetKind::Waf => "waf",
            TargetKind::Live => "live",
            TargetKind::Vod => "vod",
            TargetKind::Ddos => "ddos",
            TargetKind::Apig => "apig",
            TargetKind::Nlb => "nlb",
            TargetKind::Ga => "ga",
            TargetKind::CasDeploy => "cas-deploy",
            TargetKind::Fc2 => "fc2",
        }
    }
}

impl std::fmt::Display for TargetKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A kind's parameters: deserialized from its table (without `kind` and `verify_tls`; the
/// struct says `deny_unknown_fields`, its fields validate themselves), checked across fields,
/// then built. Building makes no network call.
pub trait Kind: DeserializeOwned {
    const KIND: TargetKind;

    /// Rules that span several keys.
    fn check(&self) -> Result<(), String> {
        Ok(())
    }

    fn build(self, cert_name: &str, client: &AliyunClient) -> Box<dyn Target>;

    /// The RAM statements this target needs (its file's `RAM` table; the CAS hub's through
    /// `cas::hub_statements` when it takes a CAS id). No default: each kind states its own.
    fn ram(&self, ctx: &RamContext<'_>) -> Vec<Statement>;

    fn parse(table: &toml::Table) -> Result<Self, String> {
        let params: Self = from_table(table)?;
        params.check()?;
        Ok(params)
    }
}

/// What a kind's statements depend on beyond its table.
pub struct RamContext<'a> {
    pub scope: &'a Scope,
    /// `domains = "covered"`: the certificate's names (the domains the kind lists and
    /// matches at run time are among those they cover); `None` for a table naming its resource.
    pub covered: Option<&'a [String]>,
}

impl RamContext<'_> {
    /// The resource names to grant: the covered names (a `*.` wildcard is a RAM wildcard
    /// too) or the table's own `name`.
    pub fn names(&self, name: &str) -> Vec<String> {
        match self.covered {
            Some(names) => names.to_vec(),
            None => vec![name.to_string()],
        }
    }
}

type Check = fn(&toml::Table) -> Result<(), String>;
type Ram = fn(&toml::Table, &RamContext<'_>) -> Result<Vec<Statement>, String>;
type Build = fn(&toml::Table, &str, &AliyunClient) -> Result<Box<dyn Target>, String>;

pub struct Entry {
    pub kind: TargetKind,
    pub check: Check,
    pub build: Build,
    pub ram: Ram,
    /// Some when a table may say `domains = "covered"` (discovery.rs).
    pub discovery: Option<Discovery>,
    /// Some when the table's list under this key names several resources, each its own
    /// target (built from a table holding just that one): `cas-deploy`'s `resource_ids`.
    pub each: Option<&'static str>,
}

impl Entry {
    /// The kind lists its domains with `list`, each put under `key`.
    const fn discovers(self, key: &'static str, list: ListDomains) -> Entry {
        Entry {
            discovery: Some(Discovery { key, list }),
            ..self
        }
    }

    /// Every element of the list under `key` is its own target.
    const fn one_per(self, key: &'static str) -> Entry {
        Entry {
            each: Some(key),
            ..self
        }
    }
}

fn check_as<P: Kind>(table: &toml::Table) -> Result<(), String> {
    P::parse(table).map(drop)
}

fn build_as<P: Kind>(
    table: &toml::Table,
    cert_name: &str,
    client: &AliyunClient,
) -> Result<Box<dyn Target>, String> {
    Ok(P::parse(table)?.build(cert_name, client))
}

fn ram_as<P: Kind>(table: &toml::Table, ctx: &RamContext<'_>) -> Result<Vec<Statement>, String> {
    Ok(P::parse(table)?.ram(ctx))
}

const fn entry<P: Kind>() -> Entry {
    Entry {
        kind: P::KIND,
        check: check_as::<P>,
        build: build_as::<P>,
        ram: ram_as::<P>,
        discovery: None,
        each: None,
    }
}

/// Every target kind, in the order error messages list them.
pub const KINDS: &[Entry] = &[
    entry::<cas::store::Params>(),
    entry::<cdn::Params>().discovers("domain", cdn::list_domains),
    entry::<dcdn::Params>().discovers("domain", dcdn::list_domains),
    entry::<apigateway::Params>(),
    entry::<slb::Params>(),
    entry::<alb::Params>(),
    entry::<oss::Params>(),
    entry::<fc::Params>().discovers("domain", fc::list_domains),
    entry::<oss_bundle::Params>(),
    entry::<esa::Params>(),
    entry::<esa_saas::Params>().discovers("hostname", esa_saas::list_domains),
    entry::<waf::Params>().discovers("domain", waf::list_domains),
    entry::<live::Params>().discovers("domain", live::list_domains),
    entry::<vod::Params>().discovers("domain", vod::list_domains),
    entry::<ddos::Params>().discovers("domain", ddos::list_domains),
    entry::<apig::Params>().discovers("domain", apig::list_domains),
    entry::<nlb::Params>(),
    entry::<ga::Params>(),
    entry::<cas_deploy::Params>().one_per("resource_ids"),
    entry::<fc2::Params>().discovers("domain", fc2::list_domains),
];

/// The table entry of `kind`, or an error listing the known kinds.
pub fn find(kind: &str) -> Result<&'static Entry, String> {
    KINDS
        .iter()
        .find(|e| e.kind.as_str() == kind)
        .ok_or_else(|| {
            let known: Vec<&str> = KINDS.iter().map(|e| e.kind.as_str()).collect();
            format!("unknown target kind `{kind}` (known: {})", known.join(", "))
        })
}

/// Deserialize a kind's params from its table, naming the key in every error:
/// "unknown key `x` (known: a, b)", "missing required key `x`", "`x` must be ...".
pub fn from_table<T: DeserializeOwned>(table: &toml::Table) -> Result<T, String> {
    serde_path_to_error::deserialize(toml::Value::Table(table.clone())).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        let message = message.lines().next().unwrap_or_default().to_string();
        reword(&path, &message)
    })
}

fn reword(path: &str, message: &str) -> String {
    // The names serde quotes in backticks: the field first, then the expected ones.
    let quoted: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    if message.starts_with("unknown field") {
        let mut known = quoted[1..].to_vec();
        known.sort();
        return format!(
            "unknown key `{}` (known: {})",
            quoted.first().unwrap_or(&path),
            known.join(", ")
        );
    }
    if message.starts_with("missing field") {
        return format!("missing required key `{}`", quoted.first().unwrap_or(&path));
    }
    match message.strip_prefix("must be") {
        Some(_) => format!("`{path}` {message}"),
        None => format!("`{path}`: {message}"),
    }
}

/// A string value that must not be empty (every string key of a target table).
#[derive(Debug, Clone)]
pub struct Text(pub String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
        // A missing key or another type keeps serde's own error (it names what was expected).
        let s = String::deserialize(d)?;
        if s.is_empty() {
            return Err(serde::de::Error::custom("must be a non-empty string"));
        }
        Ok(Text(s))
    }
}

impl Text {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A non-empty string key parsed by `parse`; its error gets `hint` appended (and the key
/// prefixed by [`from_table`]). For `#[serde(deserialize_with)]`.
pub(crate) fn parsed<'de, D, T, E>(
    d: D,
    parse: impl FnOnce(&str) -> Result<T, E>,
    hint: &str,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    E: std::fmt::Display,
{
    let text = Text::deserialize(d)?;
    parse(text.as_str()).map_err(|e| serde::de::Error::custom(format!("{e}{hint}")))
}

/// A `domain` key: a DNS name, lower-cased.
pub(crate) fn domain<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    parsed(
        d,
        |s| {
            let domain = s.to_ascii_lowercase();
            crate::domain::validate(&domain).map(|()| domain)
        },
        "",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Probe {
        domain: Text,
        region: Option<Text>,
    }

    fn parse(text: &str) -> Result<Probe, String> {
        from_table(&toml::from_str(text).unwrap())
    }

    #[test]
    fn errors_name_the_key() {
        let cases = [
            (
                "domain = \"a\"\nextra = 1",
                "unknown key `extra` (known: domain, region)",
            ),
            ("region = \"a\"", "missing required key `domain`"),
            ("domain = \"\"", "`domain` must be a non-empty string"),
            (
                "domain = 1",
                "`domain`: invalid type: integer `1`, expected a string",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text).unwrap_err(), want, "{text}");
        }
        assert!(parse("domain = \"a\"").is_ok());
    }

    #[test]
    fn every_kind_is_in_the_table_once() {
        let mut names: Vec<&str> = KINDS.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(names.len(), 20);
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 20);
        for e in KINDS {
            assert_eq!(
                serde_json::to_value(e.kind).unwrap(),
                serde_json::json!(e.kind.as_str())
            );
        }
        let e = find("s3").err().unwrap();
        assert!(
            e.contains("unknown target kind `s3`") && e.contains("oss-bundle"),
            "{e}"
        );
    }

    /// (kind, table, what its error must say): one case per rule, kinds may add theirs.
    const KEY_AT_FAULT: &[(&str, &str, &str)] = &[
        ("cas", "extra = \"1\"", "unknown key `extra` (known: )"),
        ("dcdn", "x = \"1\"", "unknown key `x` (known: domain)"),
        (
            "cdn",
            "domain = \"WWW.example.com\"",
            "accelerated domain exactly",
        ),
        ("fc", "domain = \"1.2.3.4\"", "`domain`: "),
        (
            "fc2",
            "domain = \"a.example.com\"\nregion = \"x/y\"",
            "`region`: ",
        ),
        (
            "cas-deploy",
            "resource_ids = []",
            "`resource_ids`: must list at least one",
        ),
        (
            "apig",
            "region = \"cn-hangzhou\"",
            "missing required key `domain`",
        ),
        (
            "apig",
            "domain = \"api.example.com\"\ngroup_id = \"g\"",
            "unknown key `group_id` (known: domain, region)",
        ),
        ("nlb", "listener_id = \"a#b\"", "`listener_id`: "),
        (
            "ga",
            "listener_id = \"lsr-1\"\nregion = \"cn-shanghai\"",
            "unknown key `region` (known: certificate, listener_id)",
        ),
        (
            "nlb",
            "listener_id = \"lsn-1\"\ncertificate = \"sni\"",
            "`certificate`: unknown variant `sni`, expected `default` or `additional`",
        ),
        (
            "apigateway",
            "domain = \"a.example.com\"",
            "missing required key `group_id`",
        ),
        (
            "oss",
            "bucket = \"web\"\ndomain = \"a.example.com\"\nregion = \"cn-hangzhou.evil.com\"",
            "`region`: ",
        ),
        ("slb", "load_balancer_id = \"lb-1\"", "set `listener_port`"),
        (
            "slb",
            "load_balancer_id = \"lb-1\"\nlistener_port = 0",
            "`listener_port` must be a port number (1-65535)",
        ),
        (
            "slb",
            "load_balancer_id = \"lb 1\"\nlistener_port = 443",
            "SLB console",
        ),
        ("alb", "listener_id = \"a#b\"", "`listener_id`: "),
        (
            "alb",
            "listener_id = \"lsn-1\"\ncertificate = \"sni\"",
            "`certificate`: unknown variant `sni`, expected `default` or `additional`",
        ),
        (
            "oss-bundle",
            "bucket = \"b-1\"\np12_encryption = \"3des\"",
            "`p12_encryption` needs `p12_password`",
        ),
        (
            "oss-bundle",
            "bucket = \"b-1\"\nprefix = \"\"",
            "`prefix` must be a non-empty string",
        ),
        (
            "oss-bundle",
            "bucket = \"b-1\"\nprefix = \"a/../b\"",
            "`prefix`: ",
        ),
        ("waf", "mode = \"cname\"", "missing required key `domain`"),
        (
            "waf",
            "mode = \"cloud-resource\"\nresource_product = \"ecs\"",
            "needs `resource_instance_id`",
        ),
        ("live", "domain = \"WWW.example.com\"", "`domain`: "),
        ("vod", "domain = \"1.2.3.4\"", "`domain`: "),
        (
            "ddos",
            "domain = \"a.example.com\"\nregion = \"cn-shanghai\"",
            "`region`: ",
        ),
    ];

    #[test]
    fn each_kind_names_the_key_at_fault() {
        for &(kind, text, want) in KEY_AT_FAULT {
            let e = (find(kind).unwrap().check)(&toml::from_str(text).unwrap()).unwrap_err();
            assert!(e.contains(want), "{kind} {text}: {e}");
        }
        for (kind, text) in [
            (
                "slb",
                "load_balancer_id = \"lb-1\"\nlistener_port = \"443\"",
            ),
            (
                "alb",
                "listener_id = \"lsn-1\"\ncertificate = \"additional\"",
            ),
            (
                "oss-bundle",
                "bucket = \"b-1\"\nprefix = \"/certs/\"\np12_password = \"env:P\"",
            ),
        ] {
            (find(kind).unwrap().check)(&toml::from_str(text).unwrap()).unwrap();
        }
    }

    /// The ESA kinds' cases (a second table: one function stays under 80 lines).
    #[test]
    fn esa_kinds_name_the_key_at_fault() {
        let cases = [
            (
                "esa",
                "site_id = \"abc\"",
                "`site_id` must be the numeric site id",
            ),
            (
                "esa",
                "site_id = 1\ndomain = \"a.example.com\"",
                "unknown key `domain` (known: region, site_id)",
            ),
            ("esa-saas", "site_id = 1", "missing required key `hostname`"),
            (
                "esa-saas",
                "site_id = 1\nhostname = \"a b\"",
                "`hostname`: ",
            ),
        ];
        for (kind, text, want) in cases {
            let e = (find(kind).unwrap().check)(&toml::from_str(text).unwrap()).unwrap_err();
            assert!(e.contains(want), "{kind} {text}: {e}");
        }
        for (kind, text) in [
            ("esa", "site_id = 1234567890123"),
            (
                "esa-saas",
                "site_id = \"1\"\nhostname = \"shop.example.com\"\nregion = \"ap-southeast-1\"",
            ),
        ] {
            (find(kind).unwrap().check)(&toml::from_str(text).unwrap()).unwrap();
        }
    }
}
