//! ACME Renewal Information (RFC 9773): the CA's suggested renewal window for a certificate.
//!
//! The renewalInfo resource is a plain unauthenticated GET, but instant-acme serves it only
//! from an `Account`. A status run must not create keys or accounts, so the lookup uses an
//! account *view* built with `AccountBuilder::from_parts` from a throw-away key: it fetches the
//! directory and never signs anything. One lookup per certificate per run (cached by CertID);
//! the server's Retry-After is logged and reported — alicert keeps no state between runs, so
//! its timer period is the polling interval, and a Retry-After shorter than that is honoured
//! trivially, a longer one cannot be (documented in the README).
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use instant_acme::{Account, Key};
use time::OffsetDateTime;
use tokio::sync::OnceCell;

use super::Acme;
use crate::cert::CertInfo;

/// A suggested renewal window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
    /// When the CA wants to be asked again.
    pub retry_after: Duration,
    pub explanation_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Window(Window),
    /// The directory has no renewalInfo: decide by `renew_before_days`.
    NotOffered,
    /// Offered but no usable answer (no AKI in the certificate, HTTP error, ...).
    Unavailable(String),
}

#[derive(Default)]
pub struct Cache {
    view: OnceCell<std::result::Result<Account, String>>,
    /// One cell per CertID, so that targets read concurrently that serve the same
    /// certificate share one request instead of racing to ask twice.
    answers: Mutex<HashMap<String, Arc<OnceCell<Answer>>>>,
}

impl Acme {
    /// The CA's renewal window for `cert` (one request per certificate per run).
    pub async fn renewal_info(&self, cert: &CertInfo) -> Answer {
        let directory = match self.directory().await {
            Ok(d) => d,
            Err(e) => return Answer::Unavailable(e.to_string()),
        };
        if directory.renewal_info.is_none() {
            return Answer::NotOffered;
        }
        let Some(id) = cert.ari_id() else {
            return Answer::Unavailable(
                "the certificate has no Authority Key Identifier, so it has no ARI CertID".into(),
            );
        };
        let key = id.to_string();
        let cell = match self.ari.answers.lock() {
            Ok(mut m) => m.entry(key.clone()).or_default().clone(),
            Err(_) => Arc::new(OnceCell::new()),
        };
        cell.get_or_init(|| self.ask(id, key)).await.clone()
    }

    async fn ask(&self, id: instant_acme::CertificateIdentifier<'static>, key: String) -> Answer {
        let view = self
            .ari
            .view
            .get_or_init(|| async {
                let (_, pkcs8) = Key::generate_pkcs8().map_err(|e| e.to_string())?;
                self.builder()
                    .from_parts(
                        "urn:alicert:renewal-info-only".into(),
                        pkcs8,
                        self.url.clone(),
                    )
                    .await
                    .map_err(|e| e.to_string())
            })
            .await;
        let answer = match view {
            Err(e) => Answer::Unavailable(e.clone()),
            Ok(view) => match view.renewal_info(&id).await {
                Ok((info, retry_after)) => {
                    tracing::info!(
                        cert_id = %key,
                        start = %crate::cert::rfc3339(info.suggested_window.start),
                        end = %crate::cert::rfc3339(info.suggested_window.end),
                        retry_after_secs = retry_after.as_secs(),
                        explanation = info.explanation_url.as_deref().unwrap_or("-"),
                        "ARI renewal window"
                    );
                    Answer::Window(Window {
                        start: info.suggested_window.start,
                        end: info.suggested_window.end,
                        retry_after,
                        explanation_url: info.explanation_url,
                    })
                }
                Err(e) => Answer::Unavailable(format!("renewalInfo for {key}: {e}")),
            },
        };
        if let Answer::Unavailable(why) = &answer {
            tracing::warn!(cert_id = %key, reason = %why, "no ARI answer; falling back to renew_before_days");
        }
        answer
    }
}
