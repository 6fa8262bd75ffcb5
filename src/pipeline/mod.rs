//! One certificate's way through a run: read what each target serves → decide what is due →
//! take the certificate's lock (and read again) → obtain a certificate (the CAS copy of an
//! earlier partial rollout, or a new order) → deploy to the due targets and verify each serves
//! the new serial → retire what it superseded. [`Run`] holds what the certificates of one
//! invocation share; [`CertificateRun`](certificate) walks one certificate through the steps.
//! The CA and the due decision come in through two small traits ([`Issuer`], [`Inspector`]),
//! so the steps are unit-tested with fakes.
mod certificate;
mod record;
mod run;
mod services;
#[cfg(test)]
mod tests;

pub use record::TargetRecord;
pub use run::{run_certificates, Run, RunSettings};
pub use services::{AcmeIssuer, CaInspector, Inspector, Issuer, OrderRequest};
