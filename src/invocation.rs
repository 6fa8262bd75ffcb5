//! Per-invocation facts from the runtime (FC headers) or the command line, handed down to the
//! use cases. Below every use case, so none of them needs the FC contract to get at these.
use std::collections::BTreeMap;
use std::time::Instant;

use crate::aliyun::{credentials, AliyunClient, AliyunConfig, Credentials};
use crate::budget::Budget;
use crate::error::Result;

#[derive(Debug, Clone, Default)]
pub struct Invocation {
    pub request_id: String,
    /// The function role's credentials from FC's request headers, if any.
    pub fc_credentials: Option<Credentials>,
    /// When the platform kills the invocation (FC's `x-fc-function-timeout`, or
    /// `alicert invoke --timeout`): no order starts that could not end before it.
    pub deadline: Option<Instant>,
}

impl Invocation {
    pub fn budget(&self) -> Budget {
        Budget::until(self.deadline)
    }

    /// The Alibaba Cloud client for this invocation, bounded by the deadline. The credential
    /// chain (aliyun/credentials: FC's headers, the environment, `[aliyun]`, a role assumed
    /// with one of them, OIDC, the CLI profile, the ECS instance role, a credentials URI) is
    /// resolved now; temporary keys come from the process cache while fresh.
    pub async fn aliyun_client(&self, config: &AliyunConfig) -> Result<AliyunClient> {
        let env: BTreeMap<String, String> = std::env::vars().collect();
        let credentials = credentials::resolve(self.fc_credentials.clone(), &env, config).await?;
        Ok(
            AliyunClient::new(credentials, &config.region, &config.endpoints)?
                .with_retry((&config.retry).into())
                .with_deadline(self.deadline),
        )
    }
}
