//! Invocation events (SPEC: Events), including FC's timer wrapper.
use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Renew(RenewOptions),
    Status(RenewOptions),
    Issue {
        domains: Vec<String>,
        targets: Vec<Value>,
    },
    Revoke {
        certificate: String,
        reason: Option<u8>,
        dry_run: bool,
        /// Order and roll out a new certificate before revoking (`"replace": false` to revoke
        /// only; src/revoke.rs).
        replace: bool,
    },
    Account {
        op: String,
        email: Option<String>,
        /// Required (true) for `deactivate`.
        confirm: bool,
        dry_run: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct RenewOptions {
    /// Only these certificate names (all when empty).
    pub certificates: Vec<String>,
    pub force: bool,
    pub dry_run: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvent {
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    certificates: Option<Vec<String>>,
    #[serde(default)]
    force: Option<bool>,
    #[serde(default)]
    dry_run: Option<bool>,
    #[serde(default)]
    domains: Option<Vec<String>>,
    #[serde(default)]
    targets: Option<Vec<Value>>,
    #[serde(default)]
    certificate: Option<String>,
    #[serde(default)]
    reason: Option<u8>,
    #[serde(default)]
    replace: Option<bool>,
    #[serde(default)]
    op: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    confirm: Option<bool>,
}

impl Event {
    /// Parse an invoke body. Empty means `{}`; a timer wrapper is unwrapped.
    pub fn parse(body: &[u8]) -> Result<Event> {
        let text = std::str::from_utf8(body)
            .map_err(|_| Error::Input("event is not UTF-8 text".into()))?
            .trim();
        if text.is_empty() {
            return Ok(Event::Renew(RenewOptions::default()));
        }
        let value: Value = serde_json::from_str(text)
            .map_err(|e| Error::Input(format!("event is not valid JSON: {e}")))?;
        let obj = value
            .as_object()
            .ok_or_else(|| Error::Input("event must be a JSON object".into()))?;
        // FC timer: {"triggerTime": "...", "triggerName": "...", "payload": "<JSON text>"}
        if obj.contains_key("triggerTime") || obj.contains_key("triggerName") {
            return match obj.get("payload") {
                None | Some(Value::Null) => Ok(Event::Renew(RenewOptions::default())),
                Some(Value::String(p)) => Event::parse(p.as_bytes()).map_err(|e| match e {
                    Error::Input(m) => Error::Input(format!("timer payload: {m}")),
                    other => other,
                }),
                Some(_) => Err(Error::Input(
                    "timer payload must be a string of JSON text".into(),
                )),
            };
        }
        let raw: RawEvent = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let at = if path == "." {
                String::new()
            } else {
                format!(" `{path}`")
            };
            Error::Input(format!("event field{at}: {}", e.into_inner()))
        })?;
        let options = RenewOptions {
            certificates: raw.certificates.clone().unwrap_or_default(),
            force: raw.force.unwrap_or(false),
            dry_run: raw.dry_run.unwrap_or(false),
        };
        match raw.action.as_deref().unwrap_or("renew") {
            "renew" => Ok(Event::Renew(options)),
            "status" => Ok(Event::Status(options)),
            "issue" => Ok(Event::Issue {
                domains: raw
                    .domains
                    .ok_or_else(|| Error::Input("action `issue` needs `domains`".into()))?,
                targets: raw.targets.unwrap_or_default(),
            }),
            "revoke" => Ok(Event::Revoke {
                certificate: raw
                    .certificate
                    .ok_or_else(|| Error::Input("action `revoke` needs `certificate`".into()))?,
                reason: raw.reason,
                dry_run: options.dry_run,
                replace: raw.replace.unwrap_or(true),
            }),
            "account" => Ok(Event::Account {
                op: raw.op.unwrap_or_else(|| "show".into()),
                email: raw.email,
                confirm: raw.confirm.unwrap_or(false),
                dry_run: options.dry_run,
            }),
            other => Err(Error::Input(format!(
                "unknown action `{other}` (renew, status, issue, revoke, account)"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_events_and_timer_wrapper() {
        assert_eq!(
            Event::parse(b"").unwrap(),
            Event::Renew(RenewOptions::default())
        );
        assert_eq!(
            Event::parse(b"{}").unwrap(),
            Event::Renew(RenewOptions::default())
        );
        assert_eq!(
            Event::parse(
                br#"{"action":"renew","certificates":["www"],"force":true,"dry_run":true}"#
            )
            .unwrap(),
            Event::Renew(RenewOptions {
                certificates: vec!["www".into()],
                force: true,
                dry_run: true
            })
        );
        assert_eq!(
            Event::parse(br#"{"triggerTime":"2026-01-01T00:00:00Z","triggerName":"t","payload":"{\"action\":\"status\"}"}"#).unwrap(),
            Event::Status(RenewOptions::default())
        );
        assert_eq!(
            Event::parse(br#"{"triggerTime":"x","triggerName":"t","payload":""}"#).unwrap(),
            Event::Renew(RenewOptions::default())
        );
        assert_eq!(
            Event::parse(br#"{"action":"account","op":"deactivate","confirm":true}"#).unwrap(),
            Event::Account {
                op: "deactivate".into(),
                email: None,
                confirm: true,
                dry_run: false
            }
        );
        assert_eq!(
            Event::parse(br#"{"action":"revoke","certificate":"www","reason":4}"#).unwrap(),
            Event::Revoke {
                certificate: "www".into(),
                reason: Some(4),
                dry_run: false,
                replace: true
            }
        );
        assert_eq!(
            Event::parse(br#"{"action":"revoke","certificate":"www","replace":false}"#).unwrap(),
            Event::Revoke {
                certificate: "www".into(),
                reason: None,
                dry_run: false,
                replace: false
            }
        );
    }

    #[test]
    fn bad_events_name_the_problem() {
        for (body, needle) in [
            (&br#"[1]"#[..], "JSON object"),
            (br#"{"action":"nope"}"#, "unknown action"),
            (br#"{"forse":true}"#, "forse"),
            (br#"{"force":"yes"}"#, "force"),
            (br#"{"#, "not valid JSON"),
            (br#"{"triggerName":"t","payload":"{oops"}"#, "timer payload"),
            (br#"{"action":"revoke"}"#, "certificate"),
            (
                br#"{"action":"revoke","certificate":"www","reason":-1}"#,
                "reason",
            ),
            (br#"{"action":"account","confirm":"yes"}"#, "confirm"),
            (
                br#"{"action":"revoke","certificate":"www","replace":"no"}"#,
                "replace",
            ),
        ] {
            let e = Event::parse(body).unwrap_err();
            assert!(e.is_user_error());
            assert!(e.to_string().contains(needle), "{e} lacks {needle}");
        }
    }
}
