//! What one `alicert` run returned, typed: its exit code, the result JSON deserialised into
//! test-side mirrors of src/result.rs (so a test reads `c.status` and `c.target(0).serial()`,
//! not `json["certificates"][0]["status"]`), and the captured output for failure messages.
//!
//! The mirrors deny unknown fields: a field the result JSON gains or renames fails every test
//! that reads it, which is the point while its shape is frozen (issue 12: no user-visible change).
#![allow(dead_code)]

use serde::Deserialize;
use serde_json::Value;

/// One finished `alicert` process.
#[derive(Debug)]
pub struct RunOutcome {
    pub exit: i32,
    /// The result JSON on stdout, typed (empty when stdout held none, e.g. a config error).
    pub result: RunResultView,
    /// The same JSON untyped, for the few fields no test-side struct mirrors.
    pub json: Value,
    pub stdout: String,
    pub stderr: String,
}

impl RunOutcome {
    pub fn new(exit: i32, stdout: String, stderr: String) -> RunOutcome {
        let json: Value = serde_json::from_str(&stdout).unwrap_or(Value::Null);
        // A JSON object on stdout is a result: it must fit the mirror (a mismatch is a failure,
        // not an empty result that would let "no such certificate" asserts pass by accident).
        let result = if json.is_object() {
            serde_json::from_value(json.clone())
                .unwrap_or_else(|e| panic!("result JSON does not fit RunResultView: {e}\n{stdout}"))
        } else {
            RunResultView::default()
        };
        RunOutcome {
            exit,
            result,
            json,
            stdout,
            stderr,
        }
    }

    /// Asserts the exit code, showing both streams otherwise.
    #[track_caller]
    pub fn expect_exit(&self, code: i32) -> &RunOutcome {
        assert_eq!(
            self.exit, code,
            "exit code\nstdout {}\nstderr {}",
            self.stdout, self.stderr
        );
        self
    }

    /// The result of a run that must have exited 0.
    #[track_caller]
    pub fn ok(&self) -> &RunResultView {
        &self.expect_exit(0).result
    }

    /// The entry of certificate `name` of a run that exited 0, asserting its `status`.
    #[track_caller]
    pub fn certificate_with(&self, name: &str, status: &str) -> &CertView {
        let c = self.expect_exit(0).certificate(name);
        assert_eq!(c.status, status, "{name}: {}", self.stdout);
        c
    }

    /// The entry of certificate `name` (panics, showing the output, when there is none).
    #[track_caller]
    pub fn certificate(&self, name: &str) -> &CertView {
        self.result
            .certificates
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no certificate {name} in {}\n{}", self.stdout, self.stderr))
    }
}

/// `value`, or a panic naming the missing `field` and showing `owner`.
#[track_caller]
fn present<'a, T: ?Sized>(value: Option<&'a T>, field: &str, owner: &dyn std::fmt::Debug) -> &'a T {
    value.unwrap_or_else(|| panic!("no {field} in {owner:?}"))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunResultView {
    pub ok: bool,
    pub request_id: String,
    pub certificates: Vec<CertView>,
    pub account: Option<AccountView>,
    pub revocation: Option<RevocationView>,
    pub fanout: Option<Vec<FanoutView>>,
    /// `alicert doctor`'s report (tests/doctor.rs reads it untyped, through `json`).
    pub doctor: Option<Value>,
    /// `alicert scan`'s report (tests/scan.rs reads it untyped, through `json`).
    pub scan: Option<Value>,
}

impl RunResultView {
    #[track_caller]
    pub fn certificate(&self, name: &str) -> &CertView {
        self.certificates
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no certificate {name} in {self:?}"))
    }

    /// `(name, status)` of every certificate, in result order.
    pub fn statuses(&self) -> Vec<(&str, &str)> {
        self.certificates
            .iter()
            .map(|c| (c.name.as_str(), c.status.as_str()))
            .collect()
    }

    #[track_caller]
    pub fn account(&self) -> &AccountView {
        present(self.account.as_ref(), "account", self)
    }

    #[track_caller]
    pub fn revocation(&self) -> &RevocationView {
        present(self.revocation.as_ref(), "revocation", self)
    }

    #[track_caller]
    pub fn fanout(&self) -> &[FanoutView] {
        present(self.fanout.as_deref(), "fanout", self)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertView {
    pub name: String,
    pub status: String,
    pub domains: Vec<String>,
    pub serial: Option<String>,
    pub not_after: Option<String>,
    pub reason: Option<String>,
    /// `backing_off`: the next attempt (RFC 3339).
    pub next_attempt: Option<String>,
    /// Issuer of the reported certificate, and when it renews next (src/report reads them).
    pub issuer: Option<String>,
    pub next_renewal: Option<NextRenewalView>,
    pub targets: Vec<TargetView>,
    pub error: Option<ErrorView>,
    #[serde(default)]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NextRenewalView {
    pub at: String,
    pub why: String,
}

impl CertView {
    pub fn status(&self) -> &str {
        &self.status
    }
    /// The serial (panics when the entry has none).
    #[track_caller]
    pub fn serial(&self) -> &str {
        present(self.serial.as_deref(), "serial", self)
    }
    #[track_caller]
    pub fn not_after(&self) -> &str {
        present(self.not_after.as_deref(), "not_after", self)
    }
    #[track_caller]
    pub fn reason(&self) -> &str {
        present(self.reason.as_deref(), "reason", self)
    }
    #[track_caller]
    pub fn target(&self, i: usize) -> &TargetView {
        self.targets
            .get(i)
            .unwrap_or_else(|| panic!("no target {i} in {self:?}"))
    }
    pub fn target_statuses(&self) -> Vec<&str> {
        self.targets.iter().map(|t| t.status.as_str()).collect()
    }
    /// The error (panics when the entry has none).
    #[track_caller]
    pub fn error(&self) -> &ErrorView {
        present(self.error.as_ref(), "error", self)
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TargetView {
    pub kind: String,
    pub id: String,
    pub status: String,
    pub serial: Option<String>,
    pub not_after: Option<String>,
    pub error: Option<ErrorView>,
    #[serde(default)]
    pub notes: Vec<String>,
    pub drift: Option<DriftView>,
}

/// A target's `drift`: a certificate alicert did not deploy there (src/drift.rs).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DriftView {
    pub serial: String,
    pub issuer: String,
    pub not_after: String,
    pub names: Vec<String>,
    pub deployed_as: Option<String>,
    pub reason: String,
    /// `skipped` | `would_replace` | `replaced`.
    pub action: String,
}

impl TargetView {
    /// The drift (panics when the target has none).
    #[track_caller]
    pub fn drift(&self) -> &DriftView {
        present(self.drift.as_ref(), "drift", self)
    }
    pub fn status(&self) -> &str {
        &self.status
    }
    #[track_caller]
    pub fn serial(&self) -> &str {
        present(self.serial.as_deref(), "serial", self)
    }
    #[track_caller]
    pub fn error(&self) -> &ErrorView {
        present(self.error.as_ref(), "error", self)
    }
    /// `"<kind> <id>"`, how failure messages name a target.
    pub fn label(&self) -> String {
        format!("{} {}", self.kind, self.id)
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ErrorView {
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountView {
    pub op: String,
    #[serde(default)]
    pub url: String,
    pub status: Option<String>,
    pub contacts: Vec<String>,
    #[serde(default)]
    pub key_thumbprint: String,
    pub key_location: String,
    pub previous_key_thumbprint: Option<String>,
    #[serde(default)]
    pub created: bool,
    pub would: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevocationView {
    pub certificate: String,
    pub reason: Option<u8>,
    pub reason_name: Option<String>,
    pub revoked: Vec<RevokedView>,
    pub replacement: Option<ReplacementView>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplacementView {
    pub status: String,
    pub serial: Option<String>,
    pub not_after: Option<String>,
    pub targets: Vec<TargetView>,
    pub error: Option<ErrorView>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokedView {
    pub serial: String,
    pub not_after: String,
    pub status: String,
    pub targets: Vec<String>,
    pub error: Option<ErrorView>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FanoutView {
    pub group: usize,
    pub certificates: Vec<String>,
    pub status: String,
    pub invocation_request_id: Option<String>,
    pub error: Option<ErrorView>,
}

impl RevocationView {
    #[track_caller]
    pub fn replacement(&self) -> &ReplacementView {
        present(self.replacement.as_ref(), "replacement", self)
    }
}

impl ReplacementView {
    #[track_caller]
    pub fn serial(&self) -> &str {
        present(self.serial.as_deref(), "serial", self)
    }
    #[track_caller]
    pub fn error(&self) -> &ErrorView {
        present(self.error.as_ref(), "error", self)
    }
}

impl RevokedView {
    pub fn serial(&self) -> &str {
        &self.serial
    }
    #[track_caller]
    pub fn error(&self) -> &ErrorView {
        present(self.error.as_ref(), "error", self)
    }
}

impl FanoutView {
    #[track_caller]
    pub fn error(&self) -> &ErrorView {
        present(self.error.as_ref(), "error", self)
    }
}

/// The rows of a `scan` object (`--json`'s `scan`) of one kind, in report order, each with its
/// resource id.
pub fn scan_rows(scan: &Value, kind: &str) -> Vec<(String, Value)> {
    scan["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .map(|e| (e["resource"].as_str().unwrap().to_string(), e.clone()))
        .collect()
}
