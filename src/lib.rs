//! alicert: ACME certificates for Alibaba Cloud services, as a Function Compute custom runtime.
//!
//! runtime (FC HTTP contract) → handler (event → plan → results) → acme → dns/alidns →
//! deploy/{cas,cdn,apigateway} → aliyun/{signer,credentials,client} → config.
pub mod acme;
pub mod aliyun;
pub mod cert;
pub mod config;
pub mod deploy;
pub mod dns;
pub mod domain;
pub mod error;
pub mod event;
pub mod fanout;
pub mod handler;
pub mod logging;
pub mod result;
pub mod runtime;
pub mod secret;
