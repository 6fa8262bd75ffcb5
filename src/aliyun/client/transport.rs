//! One signed exchange: send through the crate's HTTP stack within the attempt's timeout,
//! and turn a refusal into an [`Error::Aliyun`] that is safe to log.
use std::time::Duration;

use bytes::Bytes;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::retry::{parse_retry_after, Attempt, Failure};
use super::{signer, AliyunClient};
use crate::error::Error;
use crate::https::{Limits, Response};

/// The longest answer read. Alibaba's JSON answers and the objects alicert keeps in OSS
/// (keys, certificates, state, locks) are a few KiB; this only bounds a broken or hostile peer
/// (the smallest FC instances have 128 MB).
const MAX_BODY: usize = 16 * 1024 * 1024;

/// The parts of an Alibaba error answer (any of them may be empty).
#[derive(Default)]
pub(super) struct Refusal {
    pub code: String,
    pub message: String,
    pub request_id: String,
}

impl AliyunClient {
    /// Send one request, `action` naming it in errors (never the URL: its query holds the
    /// signed parameters, SecurityToken included). Any status is an answer.
    pub(super) async fn send(
        &self,
        action: &str,
        method: http::Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Attempt<Response> {
        let transport = |message: String| Error::Transport {
            action: action.to_string(),
            message,
        };
        let timeout = self
            .retry
            .attempt_timeout()
            .ok_or_else(|| transport("the invocation's deadline has passed; not calling".into()))?;
        let limits = Limits {
            timeout,
            max_body: MAX_BODY,
        };
        let rsp = self
            .http
            .send(method, url, headers, body, limits)
            .await
            .map_err(|e| transport(e.to_string()))?;
        Ok(rsp)
    }

    /// The failure of `action` answered with `status`: the code defaults to `HTTP<status>`,
    /// the message is cut and scrubbed ([`scrub_message`], echoed credentials), and the
    /// server's `Retry-After` is kept.
    pub(super) fn refused(&self, action: &str, rsp: &Response, r: Refusal) -> Failure {
        let status = rsp.status.as_u16();
        let code = match r.code {
            c if c.is_empty() => format!("HTTP{status}"),
            c => c,
        };
        Failure {
            error: Error::Aliyun {
                action: action.to_string(),
                code,
                message: self.scrub(scrub_message(&r.message)),
                request_id: r.request_id,
                http_status: status,
            },
            retry_after: retry_after_of(rsp),
        }
    }
}

fn retry_after_of(rsp: &Response) -> Option<Duration> {
    rsp.header("retry-after")
        .and_then(|v| parse_retry_after(v, std::time::SystemTime::now()))
}

/// `message`, or the start of the raw answer when the server gave no message.
pub(super) fn or_raw(message: String, raw: &str) -> String {
    if message.is_empty() {
        raw.chars().take(200).collect()
    } else {
        message
    }
}

/// `k=v&k=v` with Alibaba's percent-encoding: the query string and the form body of RPC calls.
pub(super) fn form_encode<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    pairs
        .map(|(k, v)| {
            format!(
                "{}={}",
                signer::percent_encode(k),
                signer::percent_encode(v)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// An error message safe for logs and results. Alibaba's `SignatureDoesNotMatch` messages echo
/// the server's string-to-sign, which holds every request parameter (private keys, STS tokens):
/// cut there, and at any PEM, and keep it short.
pub fn scrub_message(message: &str) -> String {
    let lower = message.to_ascii_lowercase();
    let mut end = message.len();
    for marker in [
        "string to sign",
        "stringtosign",
        "-----begin",
        "securitytoken",
    ] {
        if let Some(i) = lower.find(marker) {
            end = end.min(i);
        }
    }
    let mut out: String = message[..end].chars().take(300).collect();
    if end < message.len() || out.len() < message[..end].len() {
        out = out.trim_end().to_string();
        out.push_str(" [...]");
    }
    out
}

/// A unique SignatureNonce: 128 random bits.
pub(super) fn nonce() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// UTC `YYYY-MM-DDThh:mm:ssZ`.
pub(super) fn timestamp() -> String {
    let now = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("0 is valid");
    now.format(&Rfc3339).expect("RFC 3339 formats any UTC time")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_is_utc_seconds() {
        let t = timestamp();
        assert_eq!(t.len(), 20, "{t}");
        assert!(t.ends_with('Z'));
    }

    #[test]
    fn error_messages_never_carry_the_string_to_sign() {
        let m = "Specified signature is not matched with our calculation. server string to sign is:POST&%2F&SSLPri%3D-----BEGIN%20PRIVATE%20KEY";
        let s = scrub_message(m);
        assert_eq!(
            s,
            "Specified signature is not matched with our calculation. server [...]"
        );
        assert_eq!(
            scrub_message("The domain does not exist."),
            "The domain does not exist."
        );
        assert!(!scrub_message("bad key -----BEGIN PRIVATE KEY-----\nMIG").contains("MIG"));
        assert!(scrub_message(&"x".repeat(1000)).len() < 320);
    }

    #[tokio::test]
    async fn signed_calls_follow_no_redirect_and_give_up_at_the_request_timeout() {
        let moved =
            "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:9/\r\nContent-Length: 0\r\n\r\n";
        let base = crate::https::testing::serve(move |_, _, tcp| {
            crate::https::testing::answer(tcp, moved)
        })
        .await;
        let overrides = std::collections::BTreeMap::from([("kms".to_string(), base)]);
        let c = AliyunClient::new(
            super::super::test_client(None).credentials,
            "cn-hangzhou",
            &overrides,
        )
        .unwrap()
        .with_retry(super::super::RetryPolicy {
            max_attempts: 1,
            ..Default::default()
        });
        let e = c
            .rpc(crate::aliyun::Product::Kms, "GetSecretValue", &[])
            .await
            .unwrap_err();
        assert!(
            matches!(&e, Error::Aliyun { code, http_status: 302, .. } if code == "HTTP302"),
            "{e}"
        );
        // A peer that accepts and never answers: the attempt ends at request_timeout.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let silent = format!("http://{}", listener.local_addr().unwrap());
        let overrides = std::collections::BTreeMap::from([("kms".to_string(), silent)]);
        let c = AliyunClient::new(c.credentials.clone(), "cn-hangzhou", &overrides)
            .unwrap()
            .with_retry(super::super::RetryPolicy {
                max_attempts: 1,
                request_timeout: Duration::from_secs(1),
                ..Default::default()
            });
        let started = std::time::Instant::now();
        let e = c
            .rpc(crate::aliyun::Product::Kms, "GetSecretValue", &[])
            .await
            .unwrap_err();
        assert!(
            matches!(&e, Error::Transport { message, .. } if message == "timed out"),
            "{e}"
        );
        assert!(started.elapsed() < Duration::from_secs(3));
        drop(listener);
    }
}
