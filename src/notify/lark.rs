//! Lark / Feishu custom bot (open.feishu.cn "自定义机器人使用指南", open.larkoffice.com
//! document ucTM5YjL3ETO24yNxkjN): POST `{"msg_type":"text","content":{"text":…}}`; with
//! signature verification on, the body also carries `timestamp` (seconds, within an hour of
//! the bot's clock) and `sign` = base64(HMAC-SHA256(key = "<timestamp>\n<secret>", message =
//! empty)). The bot answers `{"code":0,…}`; 19021 is a bad signature or stale timestamp. The
//! request body may not exceed 20 KB.
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::Sha256;

use super::{check_reference, post_json, truncate_bytes, url_of, Message};
use crate::aliyun::AliyunClient;
use crate::error::{Error, Result};
use crate::https::Https;
use crate::secret_ref::SecretRef;

/// The bot's body limit (20 KB); the text is cut to leave room for the rest.
const MAX_TEXT: usize = 18 * 1024;

/// `[notify.lark]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LarkConfig {
    /// `https://open.feishu.cn/open-apis/bot/v2/hook/<id>` (or open.larksuite.com), or a
    /// `kms:`/`env:` reference to it.
    pub webhook: String,
    /// The bot's signing secret, as `kms:<secret>` | `env:<VAR>` (never inline).
    #[serde(default)]
    pub secret: Option<String>,
}

impl LarkConfig {
    pub fn validate(&self) -> std::result::Result<(), String> {
        check_reference("[notify.lark] webhook", &self.webhook)?;
        if let Some(s) = &self.secret {
            SecretRef::parse(s).map_err(|e| format!("[notify.lark] secret {e}"))?;
        }
        Ok(())
    }
}

/// The bot's signature for `timestamp` (unix seconds).
pub fn sign(secret: &str, timestamp: i64) -> String {
    let key = format!("{timestamp}\n{secret}");
    let mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC accepts any key length");
    B64.encode(mac.finalize().into_bytes())
}

pub async fn send(
    http: &Https,
    client: &AliyunClient,
    c: &LarkConfig,
    message: &Message,
) -> Result<()> {
    let url = url_of(client, &c.webhook, "lark.webhook").await?;
    let mut body = json!({
        "msg_type": "text",
        "content": {"text": truncate_bytes(&message.text, MAX_TEXT)},
    });
    if let Some(reference) = &c.secret {
        let r = SecretRef::parse(reference)
            .map_err(|e| Error::Config(format!("[notify.lark] secret {e}")))?;
        let secret = r.resolve(client, "[notify.lark] secret").await?;
        let ts = time::OffsetDateTime::now_utc().unix_timestamp();
        body["timestamp"] = json!(ts.to_string());
        body["sign"] = json!(sign(secret.expose(), ts));
    }
    let rsp = post_json(http, &url, &body)
        .await
        .map_err(|e| Error::Other(format!("Lark: {e}")))?;
    let answer: Value = serde_json::from_slice(&rsp.body).unwrap_or(Value::Null);
    match answer["code"].as_i64() {
        Some(0) if rsp.status.is_success() => Ok(()),
        _ => Err(Error::Other(format!(
            "Lark answered HTTP {}: code {} {}",
            rsp.status,
            answer["code"],
            answer["msg"].as_str().unwrap_or_default()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The Feishu guide's Python 3 recipe, run once: key = f"{ts}\n{secret}".encode();
    // base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()), ts = 1599360473,
    // secret = "demo-secret+/=".
    #[test]
    fn signature_matches_the_documented_recipe() {
        assert_eq!(
            sign("demo-secret+/=", 1_599_360_473),
            "AwMtnonGGA0d9GWSUl8XMxokd1X2K/Bxe3/m0D6QENo="
        );
    }
}
