//! The one error type. Each variant says which side is at fault, which decides exit codes,
//! HTTP statuses and whether a retry can help.
use serde::Serialize;

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
    #[error("dns: {0}")]
    Dns(String),
    #[error("deploy: {0}")]
    Deploy(String),
    #[error("{0}")]
    Other(String),
}

/// The `error` object of the result JSON.
#[derive(Debug, Clone, Serialize, PartialEq)]
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
            Error::Dns(_) => "DnsError",
            Error::Deploy(_) => "DeployError",
            Error::Other(_) => "InternalError",
        }
    }
}

impl From<instant_acme::Error> for Error {
    fn from(e: instant_acme::Error) -> Self {
        Error::Acme(e.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
