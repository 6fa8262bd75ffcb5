//! The one error type. Each variant says which side is at fault, which decides exit codes,
//! HTTP statuses and whether a retry can help.
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is wrong; the message names the key and the fix.
    #[error("config: {0}")]
    Config(String),
    /// The event / command line / HTTP request is wrong.
    #[error("input: {0}")]
    Input(String),
    /// An Alibaba Cloud API answered with an error.
    #[error("{action}: {code}: {message} (RequestId {request_id})")]
    Aliyun {
        action: String,
        code: String,
        message: String,
        request_id: String,
        http_status: u16,
    },
    /// The network failed talking to Alibaba Cloud (after retries).
    #[error("{action}: {message}")]
    Transport { action: String, message: String },
    #[error("acme: {0}")]
    Acme(String),
    /// The CA refused for its rate limits (`rateLimited`, or 429/503 with Retry-After);
    /// `retry_at`: unix seconds it named, if any.
    #[error("acme: rate limited: {message}{}", retry_note(*.retry_at))]
    RateLimited {
        message: String,
        retry_at: Option<i64>,
    },
    #[error("dns: {0}")]
    Dns(String),
    #[error("deploy: {0}")]
    Deploy(String),
    #[error("{0}")]
    Other(String),
}

/// The `error` object of the result JSON.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ErrorReport {
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl Error {
    /// Bad input or config: exit 2, HTTP 400, nothing changed.
    pub fn is_user_error(&self) -> bool {
        matches!(self, Error::Config(_) | Error::Input(_))
    }

    pub fn report(&self) -> ErrorReport {
        match self {
            Error::Aliyun {
                code,
                message,
                request_id,
                action,
                ..
            } => ErrorReport {
                code: code.clone(),
                message: format!("{action}: {message}"),
                request_id: Some(request_id.clone()),
            },
            other => ErrorReport {
                code: other.code().to_string(),
                message: other.to_string(),
                request_id: None,
            },
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Error::Config(_) => "ConfigError",
            Error::Input(_) => "InvalidInput",
            Error::Aliyun { .. } => "AliyunError",
            Error::Transport { .. } => "NetworkError",
            Error::Acme(_) => "AcmeError",
            Error::RateLimited { .. } => "RateLimited",
            Error::Dns(_) => "DnsError",
            Error::Deploy(_) => "DeployError",
            Error::Other(_) => "InternalError",
        }
    }
}

impl Error {
    /// The same failure again, for a later caller of a step that is not repeated in a run
    /// (opening the ACME account): rate limits keep their time.
    pub fn again(&self) -> Error {
        match self {
            Error::RateLimited { message, retry_at } => Error::RateLimited {
                message: message.clone(),
                retry_at: *retry_at,
            },
            Error::Config(m) => Error::Config(m.clone()),
            other => Error::Acme(format!(
                "{other} (opening the account failed earlier in this run; not retried until the next run)"
            )),
        }
    }

    /// When the CA said to come back (unix seconds), for a rate-limit refusal.
    pub fn retry_at(&self) -> Option<i64> {
        match self {
            Error::RateLimited { retry_at, .. } => *retry_at,
            _ => None,
        }
    }
}

fn retry_note(retry_at: Option<i64>) -> String {
    retry_at
        .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .map(|t| format!(" (retry after {t})"))
        .unwrap_or_default()
}

/// RFC 8555 §6.7: the problem type of a rate-limit refusal.
pub const RATE_LIMITED: &str = "urn:ietf:params:acme:error:rateLimited";

impl From<instant_acme::Error> for Error {
    fn from(e: instant_acme::Error) -> Self {
        match &e {
            instant_acme::Error::Api(p) if p.r#type.as_deref() == Some(RATE_LIMITED) => {
                Error::RateLimited {
                    message: e.to_string(),
                    retry_at: None,
                }
            }
            _ => Error::Acme(e.to_string()),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
