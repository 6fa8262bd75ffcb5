//! DingTalk custom robot, signed: `timestamp` (ms) + `sign` = urlencode(base64(HMAC-SHA256(
//! secret, "<timestamp>\n<secret>"))) in the query (DingTalk "Custom robot security settings").
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use super::{post_json, url_of, Message};
use crate::aliyun::signer::percent_encode;
use crate::aliyun::AliyunClient;
use crate::error::{Error, Result};
use crate::https::Https;
use crate::secret::Secret;
use crate::secret_ref::SecretRef;

/// DingTalk's robot signature for `timestamp_ms` (base64, before URL encoding).
pub fn sign(secret: &str, timestamp_ms: i64) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(format!("{timestamp_ms}\n{secret}").as_bytes());
    B64.encode(mac.finalize().into_bytes())
}

pub async fn send(
    http: &Https,
    client: &AliyunClient,
    url: &str,
    secret: Option<&str>,
    message: &Message,
) -> Result<()> {
    let url = url_of(client, url, "dingtalk_webhook").await?;
    let mut full = url.expose().to_string();
    if let Some(reference) = secret {
        let r = SecretRef::parse(reference)
            .map_err(|e| Error::Config(format!("[notify] dingtalk_secret {e}")))?;
        let secret = r.resolve(client, "[notify] dingtalk_secret").await?;
        let ts = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
        let sign = sign(secret.expose(), ts);
        full.push(if full.contains('?') { '&' } else { '?' });
        full.push_str(&format!("timestamp={ts}&sign={}", percent_encode(&sign)));
    }
    let full = Secret::new(full);
    let body = json!({"msgtype": "text", "text": {"content": message.text}});
    let rsp = post_json(http, &full, &body)
        .await
        .map_err(|e| Error::Other(format!("DingTalk: {e}")))?;
    let status = rsp.status;
    let answer: Value = serde_json::from_slice(&rsp.body).unwrap_or(Value::Null);
    // The robot answers 200 with {"errcode":0,"errmsg":"ok"}; anything else is a refusal.
    match answer["errcode"].as_i64() {
        Some(0) if status.is_success() => Ok(()),
        _ => Err(Error::Other(format!(
            "DingTalk answered HTTP {status}: errcode {} {}",
            answer["errcode"],
            answer["errmsg"].as_str().unwrap_or_default()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // DingTalk's documented Python recipe, run once (Python 3.11):
    //   base64.b64encode(hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest())
    //   with ts = "1767322800000", secret = "SEC0123456789abcdef+/=", then urllib.parse.quote_plus.
    #[test]
    fn signature_matches_reference() {
        let s = sign("SEC0123456789abcdef+/=", 1_767_322_800_000);
        assert_eq!(s, "BJzMLxp2/OKoUAd2n/GjjjUg7Gmgfu2060hvPrlaorg=");
        assert_eq!(
            percent_encode(&s),
            "BJzMLxp2%2FOKoUAd2n%2FGjjjUg7Gmgfu2060hvPrlaorg%3D"
        );
    }
}
