//! DirectMail 2015-11-23 (RPC), SingleSendMail only. Source: PyPI alibabacloud-dm20151123
//! 1.11.1, client.py `single_send_mail_with_options` (RPC, POST, formData body) and
//! models/_single_send_mail_request.py / _single_send_mail_response_body.py. The documented
//! rules are enforced: AccountName, AddressType (0 | 1), ReplyToAddress (true | false),
//! ToAddress (at most 100, comma separated) and Subject (at most 256 characters) required;
//! HtmlBody or TextBody required; FromAlias at most 15 characters. The sender must be one
//! the account configured (the model: "The sender address configured in the management
//! console"); the SDK names no error codes, so the codes here are the strictest plausible.
use super::*;

/// A mail SingleSendMail accepted.
#[derive(Debug, Clone, Serialize)]
pub struct SentMail {
    pub account_name: String,
    pub to: Vec<String>,
    pub subject: String,
    pub from_alias: Option<String>,
    pub text_body: Option<String>,
    pub html_body: Option<String>,
    pub env_id: String,
}

impl Seed {
    /// A sender address configured in the DirectMail console.
    pub fn dm_sender(mut self, address: &str) -> Self {
        self.dm_senders.push(address.into());
        self
    }
}

fn invalid(code: &str, message: &str) -> ApiError {
    err(400, code, message)
}

/// The regions with a DirectMail endpoint (the SDK's `_endpoint_map`); elsewhere there is no
/// such service (modelled as the strictest plausible refusal).
const REGIONS: [&str; 5] = [
    "cn-hangzhou",
    "ap-southeast-1",
    "ap-southeast-2",
    "us-east-1",
    "eu-central-1",
];

pub(crate) fn dm(
    inner: &mut Inner,
    action: &str,
    p: &Params,
    region: &str,
) -> Result<Value, ApiError> {
    if action != "SingleSendMail" {
        return Err(unknown_action());
    }
    if !REGIONS.contains(&region) {
        return Err(err(
            404,
            "InvalidRegionId",
            "DirectMail is not available in this region.",
        ));
    }
    let account = p.req("AccountName")?;
    if !matches!(p.req("AddressType")?, "0" | "1") {
        return Err(invalid("InvalidAddressType", "AddressType must be 0 or 1."));
    }
    if !matches!(p.req("ReplyToAddress")?, "true" | "false") {
        return Err(invalid(
            "InvalidReplyToAddress",
            "ReplyToAddress must be true or false.",
        ));
    }
    let to: Vec<String> = p
        .req("ToAddress")?
        .split(',')
        .map(|a| a.trim().to_string())
        .collect();
    if to.len() > 100 || to.iter().any(|a| a.is_empty() || !a.contains('@')) {
        return Err(invalid(
            "InvalidToAddress",
            "ToAddress: at most 100 addresses, separated by commas.",
        ));
    }
    let subject = p.req("Subject")?;
    if subject.chars().count() > 256 {
        return Err(invalid(
            "InvalidSubject.Malformed",
            "Subject is longer than 256 characters.",
        ));
    }
    let from_alias = p.get("FromAlias");
    if from_alias.is_some_and(|a| a.chars().count() > 15) {
        return Err(invalid(
            "InvalidFromAlias.Malformed",
            "FromAlias is longer than 15 characters.",
        ));
    }
    let (text_body, html_body) = (p.get("TextBody"), p.get("HtmlBody"));
    if text_body.is_none() && html_body.is_none() {
        return Err(invalid("InvalidBody", "HtmlBody or TextBody is required."));
    }
    if !inner.seed_dm_senders.iter().any(|s| s == account) {
        return Err(err(
            404,
            "InvalidMailAddress.NotFound",
            "The sender address is not configured.",
        ));
    }
    let env_id = format!("{}", 600_000_000 + inner.state.mails.len());
    inner.state.mails.push(SentMail {
        account_name: account.into(),
        to,
        subject: subject.into(),
        from_alias: from_alias.map(String::from),
        text_body: text_body.map(String::from),
        html_body: html_body.map(String::from),
        env_id: env_id.clone(),
    });
    Ok(json!({ "EnvId": env_id }))
}
