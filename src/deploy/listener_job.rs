//! Asynchronous listener writes, shared by the load balancer kinds (ALB, NLB): a write to a
//! listener starts a job, the listener is `Configuring` until it ends, and another write meanwhile
//! is refused with a "busy" code. So each write
//! - runs under a process-wide lock of its listener (certificates deploy concurrently),
//! - is retried while refused as busy, with the same `ClientToken` (idempotent retry; the API
//!   references allow ASCII only, at most 64 characters),
//! - is then waited for until the product's own state says it is done — bounded in time and by
//!   the invocation deadline (every call fails once the client's deadline has passed).
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::cas;
use crate::aliyun::AliyunClient;
use crate::cert::CertInfo;
use crate::error::{Error, Result};
use crate::naming;

/// How long a refused write keeps being retried.
const WRITE_RETRY_FOR: Duration = Duration::from_secs(120);
/// How long alicert waits for a job to finish (the products document no bound; jobs take seconds).
const SETTLE_FOR: Duration = Duration::from_secs(300);
const FIRST_POLL: Duration = Duration::from_millis(100);
const MAX_POLL: Duration = Duration::from_secs(3);

/// The default certificate of a listener or an additional (SNI) one: the `certificate` key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Certificate {
    #[default]
    Default,
    Additional,
}

/// One product's listener writes: its name in logs and errors, and the codes that mean "the
/// listener is busy, try again" (compared ignoring case: the API references spell some
/// `IncorrectStatus.listener` in places).
pub(crate) struct Product {
    pub name: &'static str,
    pub busy: &'static [&'static str],
}

impl Product {
    pub(crate) fn is_busy(&self, code: &str) -> bool {
        self.busy.iter().any(|c| c.eq_ignore_ascii_case(code))
    }
}

/// What one look at the listener says about a job.
pub(crate) enum Progress {
    Done,
    /// Still running; the words say what was seen (for the log and the timeout error).
    Running(String),
}

/// The process-wide lock of one listener (`key` names product, region and listener).
pub(crate) fn listener_lock(key: &str) -> Arc<tokio::sync::Mutex<()>> {
    static LOCKS: LazyLock<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>> =
        LazyLock::new(Default::default);
    LOCKS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(key.to_string())
        .or_default()
        .clone()
}

/// `ClientToken` of one logical write: the same for every retry of it in this process (so a
/// retried write is idempotent), different across processes (so a later run's identical write
/// is not mistaken for this one). 40 ASCII characters.
pub(crate) fn client_token(action: &str, listener: &str, certificate: &str) -> String {
    static RUN: LazyLock<String> = LazyLock::new(|| hex::encode(rand::random::<[u8; 12]>()));
    let digest = Sha256::digest(format!("{}|{action}|{listener}|{certificate}", *RUN));
    format!("alicert-{}", hex::encode(&digest[..16]))
}

/// Send a write until it is accepted: `send` is called again (after a growing pause) while the
/// answer is one of the product's busy codes, for at most [`WRITE_RETRY_FOR`].
pub(crate) async fn send_while_busy<T, F, Fut>(
    product: &Product,
    listener: &str,
    action: &str,
    mut send: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let started = Instant::now();
    let mut delay = FIRST_POLL;
    loop {
        match send().await {
            Err(Error::Aliyun { code, .. })
                if product.is_busy(&code) && started.elapsed() + delay < WRITE_RETRY_FOR =>
            {
                tracing::info!(
                    product = product.name,
                    listener,
                    action,
                    code,
                    retry_in_ms = delay.as_millis() as u64,
                    "listener busy; retrying the write"
                );
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(MAX_POLL);
            }
            other => return other,
        }
    }
}

/// Look at the listener (`poll`) until the job of `action` is done, for at most [`SETTLE_FOR`],
/// with a progress line every tenth look.
pub(crate) async fn settle<F, Fut>(
    product: &Product,
    listener: &str,
    action: &str,
    job: &str,
    mut poll: F,
) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Progress>>,
{
    let started = Instant::now();
    let mut delay = FIRST_POLL;
    for look in 0u32.. {
        let seen = match poll().await? {
            Progress::Done => {
                tracing::info!(
                    product = product.name,
                    listener,
                    action,
                    job,
                    waited_ms = started.elapsed().as_millis() as u64,
                    "listener job finished"
                );
                return Ok(());
            }
            Progress::Running(seen) => seen,
        };
        if started.elapsed() + delay > SETTLE_FOR {
            return Err(Error::Deploy(format!(
                "{} {listener}: {action} (job {job}) did not finish within {}s: {seen}; \
                 check the listener in the console, the next run retries",
                product.name.to_ascii_lowercase(),
                SETTLE_FOR.as_secs(),
            )));
        }
        if look % 10 == 9 {
            tracing::info!(
                product = product.name,
                listener,
                action,
                job,
                seen,
                waited_ms = started.elapsed().as_millis() as u64,
                "waiting for the listener job"
            );
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 3 / 2).min(MAX_POLL);
    }
    unreachable!("the poll loop returns")
}

/// Of `ids` (a listener's additional certificates), those alicert uploaded for `cert_name`
/// (exact CAS name, see [`crate::naming`]), with what CAS says they are.
pub(crate) async fn ours(
    cas_client: &AliyunClient,
    cert_name: &str,
    ids: impl IntoIterator<Item = String>,
) -> Result<Vec<(String, Option<CertInfo>)>> {
    let mut out = Vec::new();
    for id in ids {
        let mine = cas::name_of(cas_client, &id)
            .await?
            .is_some_and(|n| naming::is_upload_of(cert_name, &n));
        if mine {
            let info = cas::read_cert(cas_client, &id).await?;
            out.push((id, info));
        }
    }
    Ok(out)
}

/// The one of alicert's additional certificates that counts: latest validity, and among
/// certificates issued within the same second the later CAS id.
pub(crate) fn newest(certs: Vec<(String, Option<CertInfo>)>) -> Option<CertInfo> {
    let cas_number = |id: &str| cas::numeric_id(id).parse::<u64>().unwrap_or(0);
    certs
        .into_iter()
        .filter_map(|(id, info)| info.map(|i| (id, i)))
        .max_by_key(|(id, i)| (i.not_after, i.not_before, cas_number(id)))
        .map(|(_, info)| info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_tokens_are_stable_per_write_and_fit() {
        let a = client_token("Associate", "lsn-1", "7-cn-hangzhou");
        assert_eq!(a, client_token("Associate", "lsn-1", "7-cn-hangzhou"));
        assert_ne!(a, client_token("Dissociate", "lsn-1", "7-cn-hangzhou"));
        assert_ne!(a, client_token("Associate", "lsn-2", "7-cn-hangzhou"));
        assert_ne!(a, client_token("Associate", "lsn-1", "8-cn-hangzhou"));
        assert!(a.len() <= 64 && a.is_ascii(), "{a}");
    }

    #[test]
    fn busy_codes_ignore_case() {
        let p = Product {
            name: "ALB",
            busy: &["IncorrectStatus.Listener", "SystemBusy"],
        };
        assert!(p.is_busy("IncorrectStatus.listener"));
        assert!(p.is_busy("SystemBusy"));
        assert!(!p.is_busy("ResourceNotFound.Listener"));
    }
}
