//! WeCom (企业微信) group robot (developer.work.weixin.qq.com document 91770 "群机器人配置说明"):
//! POST `https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=<key>` with
//! `{"msgtype":"text","text":{"content":…}}`, content at most 2048 bytes of UTF-8; the robot
//! answers `{"errcode":0,"errmsg":"ok"}`. No signature: the key in the URL is the credential,
//! so the URL is a secret (write it as a `kms:`/`env:` reference).
use serde::Deserialize;
use serde_json::{json, Value};

use super::{check_reference, post_json, truncate_bytes, url_of, Message};
use crate::aliyun::AliyunClient;
use crate::error::{Error, Result};
use crate::https::Https;

/// The text message's content limit, bytes.
pub const MAX_CONTENT: usize = 2048;

/// `[notify.wecom]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WecomConfig {
    pub webhook: String,
}

impl WecomConfig {
    pub fn validate(&self) -> std::result::Result<(), String> {
        check_reference("[notify.wecom] webhook", &self.webhook)
    }
}

pub async fn send(
    http: &Https,
    client: &AliyunClient,
    c: &WecomConfig,
    message: &Message,
) -> Result<()> {
    let url = url_of(client, &c.webhook, "wecom.webhook").await?;
    let body = json!({
        "msgtype": "text",
        "text": {"content": truncate_bytes(&message.text, MAX_CONTENT)},
    });
    let rsp = post_json(http, &url, &body)
        .await
        .map_err(|e| Error::Other(format!("WeCom: {e}")))?;
    let answer: Value = serde_json::from_slice(&rsp.body).unwrap_or(Value::Null);
    match answer["errcode"].as_i64() {
        Some(0) if rsp.status.is_success() => Ok(()),
        _ => Err(Error::Other(format!(
            "WeCom answered HTTP {}: errcode {} {}",
            rsp.status,
            answer["errcode"],
            answer["errmsg"].as_str().unwrap_or_default()
        ))),
    }
}
