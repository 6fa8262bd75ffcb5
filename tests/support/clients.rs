//! alicert's own client pointed at an emulator. It lives here, not in the emulator crate, because
//! the emulator must not depend on alicert (its checks would then share alicert's code).
//!
//! [`Emulator`] wraps the crate's handle (and derefs to it) so that `emu.client(..)` stays an
//! inherent method: test files name `support::emulator::{Emulator, start}` and need no trait
//! import.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::ops::Deref;

use aliyun_emulator::Seed;

/// A running emulator (see [`aliyun_emulator::Emulator`]); stops when dropped.
pub struct Emulator(aliyun_emulator::Emulator);

impl Deref for Emulator {
    type Target = aliyun_emulator::Emulator;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// [`aliyun_emulator::start`]: an emulator on a free loopback port.
pub async fn start(seed: Seed) -> Emulator {
    Emulator(aliyun_emulator::start(seed).await)
}

/// [`aliyun_emulator::start_on`]: an emulator on `addr` (port 0 picks a free one).
pub async fn start_on(seed: Seed, addr: SocketAddr) -> std::io::Result<Emulator> {
    aliyun_emulator::start_on(seed, addr).await.map(Emulator)
}

impl Emulator {
    /// alicert's own client against this emulator (every product, region-templated, home
    /// region cn-hangzhou), for tests that call Alibaba actions directly.
    pub fn client(
        &self,
        access_key_id: &str,
        secret: &str,
        security_token: Option<&str>,
    ) -> alicert::aliyun::AliyunClient {
        let endpoints: BTreeMap<String, String> = alicert::aliyun::Product::codes()
            .into_iter()
            .map(|p| (p.to_string(), self.regional_url()))
            .collect();
        alicert::aliyun::AliyunClient::new(
            alicert::aliyun::Credentials {
                access_key_id: access_key_id.into(),
                access_key_secret: alicert::secret::Secret::new(secret),
                security_token: security_token.map(alicert::secret::Secret::new),
            },
            aliyun_emulator::DEFAULT_REGION,
            &endpoints,
        )
        .expect("a client for the emulator")
    }
}
