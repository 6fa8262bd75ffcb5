//! Which endpoints the current config manages: a target naming the endpoint (by kind and
//! resource, the id results show), or a `domains = "covered"` table of that kind whose
//! certificate's names cover the endpoint's domain (what a run would expand it to).
use std::collections::HashMap;

use super::Endpoint;
use crate::aliyun::AliyunClient;
use crate::config::Config;
use crate::deploy::discovery::{covered, COVERED, KEY};

pub struct Claims {
    /// (kind, resource) → the certificate whose target it is.
    exact: HashMap<(String, String), String>,
    /// (kind, the certificate's names, the certificate).
    covering: Vec<(String, Vec<String>, String)>,
}

impl Claims {
    /// Builds every configured target (no network call) to learn its id.
    pub fn of(config: &Config, client: &AliyunClient) -> Claims {
        let mut claims = Claims {
            exact: HashMap::new(),
            covering: Vec::new(),
        };
        for cert in &config.certificates {
            for t in &cert.targets {
                if t.params.get(KEY).and_then(|v| v.as_str()) == Some(COVERED) {
                    let names = cert.domains.clone();
                    claims
                        .covering
                        .push((t.kind.clone(), names, cert.name.clone()));
                    continue;
                }
                // A loaded config's targets build (config load checked them).
                if let Ok(built) = crate::deploy::build(t, &cert.name, client) {
                    let id = built.target_id();
                    let key = (id.kind.as_str().to_string(), id.resource.clone());
                    claims.exact.entry(key).or_insert_with(|| cert.name.clone());
                }
            }
        }
        claims
    }

    /// The certificate that manages (kind, resource), if any.
    pub fn owner(&self, kind: &str, resource: &str) -> Option<&str> {
        let key = (kind.to_string(), resource.to_string());
        if let Some(cert) = self.exact.get(&key) {
            return Some(cert);
        }
        self.covering
            .iter()
            .find(|(k, names, _)| k == kind && covered(names, resource))
            .map(|(_, _, cert)| cert.as_str())
    }

    pub fn mark(&self, endpoints: &mut [Endpoint]) {
        for e in endpoints {
            e.certificate = self.owner(&e.kind, &e.resource).map(String::from);
            e.managed = e.certificate.is_some();
        }
    }
}
