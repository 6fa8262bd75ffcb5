//! alicert: ACME certificates for Alibaba Cloud services, as a Function Compute custom runtime.
//!
//! Dependencies point one way (checked by tests/architecture.rs; README "Architecture"):
//! runtime, http_trigger (FC contract) → handler, revoke, issue, fanout, event (use cases) →
//! config (assembly) → pipeline (one certificate) → acme, dns, deploy, lock, notify, crl →
//! aliyun, https, secret_ref → foundations (budget, invocation, ident, cert, error, …).
pub mod acme;
pub mod aliyun;
pub mod backoff;
pub mod budget;
pub mod cert;
pub mod config;
pub mod crl;
pub mod deploy;
pub mod dns;
pub mod doctor;
pub mod domain;
pub mod drift;
pub mod error;
pub mod event;
pub mod fanout;
pub mod fc_request;
pub mod handler;
pub mod http_access;
pub mod http_trigger;
pub mod https;
pub mod ident;
pub mod inspect;
pub mod invocation;
pub mod issue;
pub mod lock;
pub mod logging;
pub mod metrics;
pub mod naming;
pub mod notify;
pub mod pipeline;
pub mod plan;
pub mod policy;
pub mod report;
pub mod result;
pub mod revoke;
pub mod runtime;
pub mod scan;
pub mod secret;
pub mod secret_ref;
pub mod settings;
pub mod testhook;
