//! E-mail through Alibaba Cloud DirectMail `SingleSendMail` (PyPI alibabacloud-dm20151123
//! 1.11.1: RPC 2015-11-23, POST, parameters AccountName, AddressType, ReplyToAddress,
//! ToAddress, Subject, TextBody, FromAlias; answer `EnvId` + `RequestId`). Limits from its
//! model: at most 100 recipients, Subject at most 256 characters, FromAlias at most 15.
use serde::Deserialize;

use super::Message;
use crate::aliyun::{AliyunClient, Product};
use crate::error::Result;
use crate::ident::RegionId;

/// The regions with a DirectMail endpoint (alibabacloud-dm20151123 1.11.1 `_endpoint_map`).
pub const DM_REGIONS: [&str; 5] = [
    "cn-hangzhou",
    "ap-southeast-1",
    "ap-southeast-2",
    "us-east-1",
    "eu-central-1",
];

/// `[notify.mail]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailConfig {
    /// The sender address configured in the DirectMail console.
    pub account_name: String,
    /// Recipients, 1 to 100.
    pub to: Vec<String>,
    /// Sender nickname, at most 15 characters.
    #[serde(default)]
    pub from_alias: Option<String>,
    /// DirectMail's region, one of [`DM_REGIONS`]; default `[aliyun] region` when it is one,
    /// else cn-hangzhou.
    #[serde(default)]
    pub region: Option<String>,
}

fn address_ok(a: &str) -> bool {
    let mut parts = a.split('@');
    matches!((parts.next(), parts.next(), parts.next()), (Some(l), Some(d), None) if !l.is_empty() && d.contains('.'))
        && !a.contains([',', ' ', '<', '>'])
}

impl MailConfig {
    pub fn validate(&self) -> std::result::Result<(), String> {
        if !address_ok(&self.account_name) {
            return Err(
                "[notify.mail] account_name: the sender address, like alerts@mail.example.com"
                    .into(),
            );
        }
        if self.to.is_empty() || self.to.len() > 100 {
            return Err("[notify.mail] to: 1 to 100 addresses".into());
        }
        if let Some(bad) = self.to.iter().find(|a| !address_ok(a)) {
            return Err(format!(
                "[notify.mail] to: `{bad}` is not an e-mail address"
            ));
        }
        if self
            .from_alias
            .as_ref()
            .is_some_and(|a| a.chars().count() > 15)
        {
            return Err("[notify.mail] from_alias: at most 15 characters".into());
        }
        if let Some(r) = &self.region {
            if !DM_REGIONS.contains(&r.as_str()) {
                return Err(format!(
                    "[notify.mail] region: DirectMail is in {} only",
                    DM_REGIONS.join(", ")
                ));
            }
        }
        Ok(())
    }
}

pub async fn send(client: &AliyunClient, c: &MailConfig, message: &Message) -> Result<()> {
    let region = match c.region.as_deref() {
        Some(r) => r,
        None if DM_REGIONS.contains(&client.region()) => client.region(),
        None => DM_REGIONS[0],
    };
    let client = match RegionId::parse(region) {
        Ok(r) => client.for_region(&r),
        Err(_) => client.clone(),
    };
    let to = c.to.join(",");
    let subject: String = message.subject().chars().take(256).collect();
    let mut params = vec![
        ("AccountName", c.account_name.as_str()),
        ("AddressType", "1"),
        ("ReplyToAddress", "false"),
        ("ToAddress", to.as_str()),
        ("Subject", subject.as_str()),
    ];
    if let Some(alias) = &c.from_alias {
        params.push(("FromAlias", alias));
    }
    // The body goes in the signed form, not the URL (it is long; SDK: formData).
    let answer = client
        .rpc_with_form(
            Product::Dm,
            "SingleSendMail",
            &params,
            &[("TextBody", &message.text)],
        )
        .await?;
    tracing::info!(
        env_id = answer["EnvId"].as_str().unwrap_or_default(),
        "notify: mail accepted by DirectMail"
    );
    Ok(())
}

/// The actions this file calls (tests/policy.rs checks them against the calls).
pub(crate) const RAM: &[&str] = &["dm:SingleSendMail"];

/// `[notify.mail]`: DirectMail (SingleSendMail has no resource-level permission).
pub(crate) fn ram_statements() -> Vec<crate::aliyun::ram::Statement> {
    use crate::aliyun::ram::{pick, Statement};
    vec![Statement::any(
        "NotifyMail",
        "[notify.mail]: send the run's summary by DirectMail.",
        &pick(RAM, &["dm:SingleSendMail"]),
    )]
}
