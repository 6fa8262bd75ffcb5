//! The one table of target kinds: the `kind` string, and how its table becomes a target. Each
//! kind's `Params` is parsed with serde (`deny_unknown_fields`) by [`from_table`], which words
//! serde's errors the way alicert's config errors read (the key, the known keys).
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

use super::{alb, apigateway, cas, cdn, dcdn, fc, oss, oss_bundle, slb, Target};
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
        }
    }
}

impl std::fmt::Display for TargetKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A kind's parameters: parsed from its table (without `kind` and `verify_tls`), then built.
/// Building makes no network call.
pub trait Kind: Sized {
    const KIND: TargetKind;
    fn parse(table: &toml::Table) -> Result<Self, String>;
    fn build(self, cert_name: &str, client: &AliyunClient) -> Box<dyn Target>;
}

type Check = fn(&toml::Table) -> Result<(), String>;
type Build = fn(&toml::Table, &str, &AliyunClient) -> Result<Box<dyn Target>, String>;

pub struct Entry {
    pub kind: TargetKind,
    pub check: Check,
    pub build: Build,
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

const fn entry<P: Kind>() -> Entry {
    Entry {
        kind: P::KIND,
        check: check_as::<P>,
        build: build_as::<P>,
    }
}

/// Every target kind, in the order error messages list them.
pub const KINDS: &[Entry] = &[
    entry::<cas::store::Params>(),
    entry::<cdn::Params>(),
    entry::<dcdn::Params>(),
    entry::<apigateway::Params>(),
    entry::<slb::Params>(),
    entry::<alb::Params>(),
    entry::<oss::Params>(),
    entry::<fc::Params>(),
    entry::<oss_bundle::Params>(),
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

/// The optional `region` key of a target: where its resource lives when not `[aliyun] region`.
pub(crate) fn region(value: Option<Text>) -> Result<Option<crate::ident::RegionId>, String> {
    value
        .map(|v| crate::ident::RegionId::parse(v.as_str()))
        .transpose()
        .map_err(|e| format!("`region`: {e}"))
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
        assert_eq!(names.len(), 9);
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 9);
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
}
