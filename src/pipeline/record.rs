//! One target of a certificate, as the pipeline knows it: what it is, what it serves, whether
//! it is due and why, and what its result says. One record per target, in config order.
use crate::acme::ari::Window;
use crate::cert::CertInfo;
use crate::deploy::Configured;
use crate::error::Error;
use crate::plan::DueReason;
use crate::result::{Drift, DriftAction, TargetResult, TargetStatus};

pub struct TargetRecord {
    pub target: Configured,
    /// What the target serves now (None: nothing, or its read failed).
    pub current: Option<CertInfo>,
    /// The CA's ARI window for `current`, when it has one.
    pub window: Option<Window>,
    /// Why the target needs the new certificate (None: up to date, or not read yet).
    pub due: Option<DueReason>,
    /// `current` is not alicert's (src/drift.rs); carried into every result of this target.
    pub drift: Option<Drift>,
    pub result: TargetResult,
}

impl TargetRecord {
    pub fn new(target: Configured) -> TargetRecord {
        let result = TargetResult::new(target.kind(), target.id(), TargetStatus::UpToDate, None);
        TargetRecord {
            target,
            current: None,
            window: None,
            due: None,
            drift: None,
            result,
        }
    }

    /// What a read found; `drift` says why `current` is not alicert's, when it is not.
    pub fn read(
        &mut self,
        current: Option<CertInfo>,
        due: Option<DueReason>,
        window: Option<Window>,
        drift: Option<String>,
    ) {
        let status = if due.is_some() {
            TargetStatus::WouldDeploy
        } else {
            TargetStatus::UpToDate
        };
        self.drift = current.as_ref().zip(drift).map(|(c, why)| {
            let action = match due {
                Some(_) => DriftAction::WouldReplace,
                None => DriftAction::Skipped,
            };
            crate::drift::report(c, why, action)
        });
        self.report(status, current.as_ref());
        self.current = current;
        self.window = window;
        self.due = due;
    }

    /// The target could not be read.
    pub fn read_failed(&mut self, e: &Error) {
        self.drift = None;
        self.report(TargetStatus::Failed, None);
        self.result.error = Some(e.report());
        self.current = None;
        self.window = None;
        self.due = None;
    }

    /// It serves `info` now, verified.
    pub fn deployed(&mut self, info: &CertInfo) {
        if let Some(d) = &mut self.drift {
            d.action = DriftAction::Replaced;
        }
        self.report(TargetStatus::Deployed, Some(info));
        self.result.notes = self.target.take_notes();
    }

    fn report(&mut self, status: TargetStatus, serving: Option<&CertInfo>) {
        self.result = TargetResult::new(self.target.kind(), self.target.id(), status, serving);
        self.result.drift = self.drift.clone();
    }

    pub fn deploy_failed(&mut self, e: &Error) {
        self.result.status = TargetStatus::Failed;
        self.result.error = Some(e.report());
        // What the deploy did before failing (a certificate removed) is still worth saying.
        self.result.notes = self.target.take_notes();
    }

    /// `kind id: reason`, for the certificate's `reason`.
    pub fn due_line(&self) -> Option<String> {
        let why = self.due?;
        Some(format!(
            "{} {}: {why}",
            self.target.kind(),
            self.target.id()
        ))
    }
}
