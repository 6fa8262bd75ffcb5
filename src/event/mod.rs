//! Invocation events (SPEC: Events), including FC's timer wrapper. Parsing is exact: only the
//! real timer shape is unwrapped, every field must belong to the event's action, and a number
//! out of its range is an input error naming the field.
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::acme::account::OpKind;
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Renew(RenewOptions),
    Status(RenewOptions),
    Issue {
        domains: Vec<String>,
        targets: IssueTargets,
        dry_run: bool,
    },
    Revoke {
        certificate: String,
        reason: Option<RevokeReason>,
        dry_run: bool,
        /// Order and roll out a new certificate before revoking (`"replace": false` to revoke
        /// only; src/revoke.rs).
        replace: bool,
    },
    /// Read like `status`, then write the report (src/report).
    Report(RenewOptions),
    /// A test message to every `[notify]` channel.
    TestNotify,
    /// The read-only preflight (src/doctor); changes nothing, so it has no dry run.
    Doctor,
    /// The read-only inventory of the account's endpoints (src/scan), in these regions
    /// (default `[aliyun] region`).
    Scan {
        regions: Vec<crate::ident::RegionId>,
    },
    Account {
        op: OpKind,
        email: Option<String>,
        /// Required (true) for `deactivate`.
        confirm: bool,
        dry_run: bool,
    },
}

/// Where an `issue` event deploys: always one of `[http.target_sets]` (see `crate::issue`).
#[derive(Debug, Clone, PartialEq)]
pub enum IssueTargets {
    /// `"target_set": "web"` (or `"targets": "web"`).
    Named(String),
    /// SPEC's `"targets": [...]`: accepted only when it equals a configured set exactly.
    Listed(Vec<Value>),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct RenewOptions {
    /// Only these certificate names (all when empty).
    pub certificates: Vec<String>,
    pub force: bool,
    pub dry_run: bool,
    /// An on-demand certificate (`issue`): transient, so no failure state is kept for it (the
    /// HTTP trigger's rate limit bounds its retries instead).
    pub on_demand: bool,
}

/// The fields of every action (`action` itself is read first; which fields an action takes
/// is checked before this is deserialized, see [`fields_of`]).
#[derive(Deserialize)]
struct RawEvent {
    #[serde(default)]
    certificates: Option<Vec<String>>,
    #[serde(default)]
    force: Option<bool>,
    #[serde(default)]
    dry_run: Option<bool>,
    #[serde(default)]
    domains: Option<Vec<String>>,
    #[serde(default)]
    targets: Option<RawTargets>,
    #[serde(default)]
    target_set: Option<String>,
    #[serde(default)]
    certificate: Option<String>,
    #[serde(default)]
    reason: Option<u8>,
    #[serde(default)]
    replace: Option<bool>,
    #[serde(default)]
    op: Option<OpKind>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    confirm: Option<bool>,
    #[serde(default)]
    regions: Option<Vec<crate::ident::RegionId>>,
}

#[derive(Deserialize)]
#[serde(untagged, expecting = "a target set name or a list of target tables")]
enum RawTargets {
    Name(String),
    List(Vec<Value>),
}

/// The fields each action takes besides `action` (anything else is an error, so a field meant
/// for another action, e.g. `force` on `status`, is never silently dropped).
fn fields_of(action: &str) -> Option<&'static [&'static str]> {
    Some(match action {
        "renew" => &["certificates", "force", "dry_run"],
        "status" => &["certificates", "dry_run"],
        "issue" => &["domains", "targets", "target_set", "dry_run"],
        "revoke" => &["certificate", "reason", "replace", "dry_run"],
        "account" => &["op", "email", "confirm", "dry_run"],
        "report" => &["certificates"],
        "test-notify" => &[],
        "doctor" => &[],
        "scan" => &["regions"],
        _ => return None,
    })
}

/// The keys of FC's timer event. FC 3.0 "Formats of event for different triggers", Time
/// trigger (https://www.alibabacloud.com/help/en/fc/formats-of-event-for-different-triggers):
/// `{"triggerTime": "2018-02-09T05:49:00Z", "triggerName": "timer-trigger", "payload": "..."}`,
/// all three strings, `payload` being the trigger message as entered (TimerTriggerConfig
/// `payload`, a string).
const TIMER_KEYS: [&str; 3] = ["triggerTime", "triggerName", "payload"];

impl Event {
    /// Parse an invoke body. Empty means `{}`; the FC timer wrapper is unwrapped.
    pub fn parse(body: &[u8]) -> Result<Event> {
        Self::parse_at(body, false)
    }

    fn parse_at(body: &[u8], in_timer: bool) -> Result<Event> {
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
        if TIMER_KEYS.iter().any(|k| obj.contains_key(*k)) {
            if in_timer {
                return Err(Error::Input(
                    "timer payload: a timer event inside a timer payload is not an event".into(),
                ));
            }
            let payload = timer_payload(obj)?;
            return Self::parse_at(payload.as_bytes(), true).map_err(|e| match e {
                Error::Input(m) => Error::Input(format!("timer payload: {m}")),
                other => other,
            });
        }
        let action = match obj.get("action") {
            None => "renew",
            Some(Value::String(a)) => a.as_str(),
            Some(_) => {
                return Err(Error::Input(
                    "event field `action`: must be a string".into(),
                ))
            }
        };
        check_fields(obj, action)?;
        let raw: RawEvent = serde_path_to_error::deserialize(value.clone()).map_err(|e| {
            let path = e.path().to_string();
            let at = if path == "." {
                String::new()
            } else {
                format!(" `{path}`")
            };
            Error::Input(format!("event field{at}: {}", e.into_inner()))
        })?;
        Self::from_raw(action, raw)
    }

    /// The event of a known `action` from its checked fields.
    fn from_raw(action: &str, raw: RawEvent) -> Result<Event> {
        let options = RenewOptions {
            certificates: raw.certificates.clone().unwrap_or_default(),
            force: raw.force.unwrap_or(false),
            dry_run: raw.dry_run.unwrap_or(false),
            on_demand: false,
        };
        match action {
            "renew" => Ok(Event::Renew(options)),
            "status" => Ok(Event::Status(options)),
            "report" => Ok(Event::Report(options)),
            "test-notify" => Ok(Event::TestNotify),
            "doctor" => Ok(Event::Doctor),
            "scan" => Ok(Event::Scan {
                regions: raw.regions.unwrap_or_default(),
            }),
            "issue" => Ok(Event::Issue {
                domains: raw
                    .domains
                    .ok_or_else(|| Error::Input("action `issue` needs `domains`".into()))?,
                targets: issue_targets(raw.target_set, raw.targets)?,
                dry_run: options.dry_run,
            }),
            "revoke" => {
                let reason = raw
                    .reason
                    .map(RevokeReason::from_code)
                    .transpose()
                    .map_err(|m| Error::Input(format!("event field `reason`: {m}")))?;
                Ok(Event::Revoke {
                    certificate: raw.certificate.ok_or_else(|| {
                        Error::Input("action `revoke` needs `certificate`".into())
                    })?,
                    reason,
                    dry_run: options.dry_run,
                    replace: raw.replace.unwrap_or(true),
                })
            }
            "account" => Ok(Event::Account {
                op: raw.op.unwrap_or_default(),
                email: raw.email,
                confirm: raw.confirm.unwrap_or(false),
                dry_run: options.dry_run,
            }),
            _ => unreachable!("fields_of knows the action"),
        }
    }

    /// Make the event a dry run (`--dry-run`): every kind that could change something reads
    /// and reports only (`status` is dry by nature).
    pub fn set_dry_run(&mut self) {
        match self {
            Event::Renew(o) | Event::Status(o) | Event::Report(o) => o.dry_run = true,
            Event::TestNotify | Event::Doctor | Event::Scan { .. } => {}
            Event::Issue { dry_run, .. }
            | Event::Revoke { dry_run, .. }
            | Event::Account { dry_run, .. } => *dry_run = true,
        }
    }
}

impl RawEvent {
    const FIELDS: [&'static str; 12] = [
        "certificates",
        "force",
        "dry_run",
        "domains",
        "targets",
        "target_set",
        "certificate",
        "reason",
        "op",
        "email",
        "confirm",
        "regions",
    ];
}

/// The payload of an FC timer event: exactly the three keys, all strings.
fn timer_payload(obj: &Map<String, Value>) -> Result<&str> {
    if let Some(k) = obj.keys().find(|k| !TIMER_KEYS.contains(&k.as_str())) {
        return Err(Error::Input(format!(
            "timer event field `{k}`: an FC timer event has only triggerTime, triggerName and payload (put the alicert event in payload, as JSON text)"
        )));
    }
    for k in TIMER_KEYS {
        match obj.get(k) {
            Some(Value::String(_)) => {}
            None => {
                return Err(Error::Input(format!(
                    "timer event field `{k}` is missing: an FC timer event has triggerTime, triggerName and payload (an empty payload means {{}})"
                )))
            }
            Some(_) => {
                return Err(Error::Input(format!(
                    "timer event field `{k}` must be a string{}",
                    if k == "payload" {
                        " of JSON text, e.g. \"{\\\"action\\\":\\\"renew\\\"}\""
                    } else {
                        ""
                    }
                )))
            }
        }
    }
    Ok(obj["payload"].as_str().unwrap_or_default())
}

/// Every key of the event must be a field of its action (the error says which it takes).
fn check_fields(obj: &serde_json::Map<String, Value>, action: &str) -> Result<()> {
    let Some(fields) = fields_of(action) else {
        return Err(Error::Input(format!(
            "unknown action `{action}` (renew, status, issue, revoke, account, report, test-notify, doctor, scan)"
        )));
    };
    let Some(k) = obj
        .keys()
        .find(|k| *k != "action" && !fields.contains(&k.as_str()))
    else {
        return Ok(());
    };
    let known = RawEvent::FIELDS.contains(&k.as_str());
    Err(Error::Input(if known {
        format!(
            "event field `{k}`: not a field of action `{action}` (it takes: {})",
            fields.join(", ")
        )
    } else {
        format!(
            "event field `{k}`: unknown field (action `{action}` takes: {})",
            fields.join(", ")
        )
    }))
}

/// Where an `issue` event deploys: `target_set`, or (older spelling) `targets` naming a set.
fn issue_targets(set: Option<String>, targets: Option<RawTargets>) -> Result<IssueTargets> {
    match (set, targets) {
        (Some(name), None) | (None, Some(RawTargets::Name(name))) => Ok(IssueTargets::Named(name)),
        (None, Some(RawTargets::List(list))) => Ok(IssueTargets::Listed(list)),
        (Some(_), Some(_)) => Err(Error::Input(
            "action `issue`: give `target_set` or `targets`, not both".into(),
        )),
        (None, None) => Err(Error::Input(
            "action `issue` needs `target_set`: the name of one of [http.target_sets]".into(),
        )),
    }
}

/// RFC 5280 §5.3.1 CRLReason codes (7 is unused); `name` is the RFC's spelling, reported
/// as `reason_name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeReason {
    Unspecified = 0,
    KeyCompromise = 1,
    CaCompromise = 2,
    AffiliationChanged = 3,
    Superseded = 4,
    CessationOfOperation = 5,
    CertificateHold = 6,
    RemoveFromCrl = 8,
    PrivilegeWithdrawn = 9,
    AaCompromise = 10,
}

impl RevokeReason {
    const ALL: [RevokeReason; 10] = [
        RevokeReason::Unspecified,
        RevokeReason::KeyCompromise,
        RevokeReason::CaCompromise,
        RevokeReason::AffiliationChanged,
        RevokeReason::Superseded,
        RevokeReason::CessationOfOperation,
        RevokeReason::CertificateHold,
        RevokeReason::RemoveFromCrl,
        RevokeReason::PrivilegeWithdrawn,
        RevokeReason::AaCompromise,
    ];

    pub fn from_code(code: u8) -> Result<RevokeReason, String> {
        RevokeReason::ALL
            .into_iter()
            .find(|r| r.code() == code)
            .ok_or_else(|| {
                let known: Vec<String> = RevokeReason::ALL
                    .iter()
                    .map(|r| format!("{} {}", r.code(), r.name()))
                    .collect();
                format!(
                    "reason {code} is not an RFC 5280 CRLReason code: use {}",
                    known.join(", ")
                )
            })
    }

    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn name(self) -> &'static str {
        match self {
            RevokeReason::Unspecified => "unspecified",
            RevokeReason::KeyCompromise => "keyCompromise",
            RevokeReason::CaCompromise => "cACompromise",
            RevokeReason::AffiliationChanged => "affiliationChanged",
            RevokeReason::Superseded => "superseded",
            RevokeReason::CessationOfOperation => "cessationOfOperation",
            RevokeReason::CertificateHold => "certificateHold",
            RevokeReason::RemoveFromCrl => "removeFromCRL",
            RevokeReason::PrivilegeWithdrawn => "privilegeWithdrawn",
            RevokeReason::AaCompromise => "aACompromise",
        }
    }
}

#[cfg(test)]
mod tests;
