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

/// Where a refusal's message names the denied action (the Alibaba Cloud client writes it,
/// [`Error::denied_action`] reads it).
pub const DENIED_MARK: &str = "(RAM denied ";

/// `ram-code:Action`: a lower-case code (letters, digits, `-`), `:`, a CamelCase action.
fn is_ram_action(w: &str) -> bool {
    let Some((code, action)) = w.split_once(':') else {
        return false;
    };
    !code.is_empty()
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && action
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_uppercase())
        && action.chars().all(|c| c.is_ascii_alphanumeric())
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

    /// The RAM action a refusal names (`AccessDeniedDetail.AuthAction`, which the client puts
    /// in the message, see `aliyun::client::ram_hint`).
    /// ROA products without that detail name the action in the message of their denial
    /// (FC: `AccessDenied`, "… not authorized to do fc:GetCustomDomain on resource …"): the
    /// first `ram-code:Action` word of it.
    pub fn denied_action(&self) -> Option<String> {
        let Error::Aliyun { message, code, .. } = self else {
            return None;
        };
        let mark = DENIED_MARK;
        if let Some(at) = message.find(mark) {
            let mut parts = message[at + mark.len()..].split(':');
            if let (Some(code), Some(action)) = (parts.next(), parts.next()) {
                return Some(format!("{code}:{action}"));
            }
        }
        let denial = ["Forbidden.RAM", "NoPermission", "AccessDenied", "Forbidden"];
        if !denial.contains(&code.as_str()) {
            return None;
        }
        message
            .split(|c: char| c.is_whitespace() || "'\"`,;()".contains(c))
            .find(|w| is_ram_action(w))
            .map(String::from)
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

/// The note on an account failure repeated to a later order of the run ([`Error::again`]).
const NOT_RETRIED: &str =
    "(opening the account failed earlier in this run; not retried until the next run)";

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
            // Already the repeated form (the run keeps it): the same words, not nested again.
            Error::Acme(m) if m.ends_with(NOT_RETRIED) => Error::Acme(m.clone()),
            other => Error::Acme(format!("{other} {NOT_RETRIED}")),
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

#[cfg(test)]
mod tests {

    #[test]
    fn a_repeated_account_failure_is_noted_once() {
        let first = Error::Transport {
            action: "newAccount".into(),
            message: "no answer".into(),
        }
        .again();
        let text = first.again().again().to_string();
        assert_eq!(text.matches("not retried").count(), 1, "{text}");
        assert!(text.contains("no answer"), "{text}");
    }

    use super::*;

    fn refused(code: &str, message: &str) -> Error {
        Error::Aliyun {
            action: "X".into(),
            code: code.into(),
            message: message.into(),
            request_id: "R".into(),
            http_status: 403,
        }
    }

    #[test]
    fn a_refusal_names_its_ram_action() {
        let rpc = refused(
            "Forbidden.RAM",
            &format!("User not authorized. {DENIED_MARK}alidns:AddDomainRecord: grant it …)"),
        );
        assert_eq!(
            rpc.denied_action().as_deref(),
            Some("alidns:AddDomainRecord")
        );
        let roa = refused(
            "AccessDenied",
            "You are not authorized to do fc:GetCustomDomain on resource * (RAM ImplicitDeny).",
        );
        assert_eq!(roa.denied_action().as_deref(), Some("fc:GetCustomDomain"));
        // Not a denial, or no action named: nothing.
        assert_eq!(
            refused("InvalidDomain.NotFound", "cdn:X is odd").denied_action(),
            None
        );
        assert_eq!(
            refused("AccessDenied", "no action here").denied_action(),
            None
        );
        assert_eq!(Error::Config("x".into()).denied_action(), None);
    }
}
