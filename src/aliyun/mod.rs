//! Alibaba Cloud OpenAPI: signing, credentials and a small signed client.
pub mod client;
pub mod credentials;
pub mod endpoints;
pub mod settings;
pub mod signer;

pub use client::AliyunClient;
pub use credentials::Credentials;
pub use settings::{AliyunConfig, RetryConfig};

/// The products alicert calls, with their RPC API versions and default endpoints
/// (from the official SDKs, see ../shared/ALIBABA_API.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Product {
    Alidns,
    Cas,
    Cdn,
    Dcdn,
    ApiGateway,
    Kms,
    Oss,
    Sts,
    Fc,
    Slb,
    Alb,
}

impl Product {
    const ALL: [Product; 11] = [
        Product::Alidns,
        Product::Cas,
        Product::Cdn,
        Product::Dcdn,
        Product::ApiGateway,
        Product::Kms,
        Product::Oss,
        Product::Sts,
        Product::Fc,
        Product::Slb,
        Product::Alb,
    ];

    /// The key used in `[aliyun.endpoints]` and `ALICERT_ENDPOINT_<CODE>`.
    pub fn code(self) -> &'static str {
        match self {
            Product::Alidns => "alidns",
            Product::Cas => "cas",
            Product::Cdn => "cdn",
            Product::Dcdn => "dcdn",
            Product::ApiGateway => "apigateway",
            Product::Kms => "kms",
            Product::Oss => "oss",
            Product::Sts => "sts",
            Product::Fc => "fc",
            Product::Slb => "slb",
            Product::Alb => "alb",
        }
    }

    pub fn from_code(code: &str) -> Option<Product> {
        Product::ALL.into_iter().find(|p| p.code() == code)
    }

    pub fn codes() -> Vec<&'static str> {
        Product::ALL.iter().map(|p| p.code()).collect()
    }

    /// RPC API version.
    pub fn version(self) -> &'static str {
        match self {
            Product::Alidns => "2015-01-09",
            Product::Cas => "2020-04-07",
            Product::Cdn => "2018-05-10",
            Product::Dcdn => "2018-01-15",
            Product::ApiGateway => "2016-07-14",
            Product::Kms => "2016-01-20",
            Product::Sts => "2015-04-01",
            Product::Slb => "2014-05-15",
            Product::Alb => "2020-06-16",
            Product::Fc => "2023-03-30",
            Product::Oss => "",
        }
    }

    /// Default public endpoint in `region`: the official SDK's endpoint map and rule
    /// (see endpoints.rs).
    pub fn default_endpoint(self, region: &str) -> String {
        format!("https://{}", endpoints::host(self, region))
    }
}

/// `[(k, v)]` as owned strings, in any collection (test maps, headers, queries).
#[cfg(test)]
pub(crate) fn owned_pairs<C: FromIterator<(String, String)>>(pairs: &[(&str, &str)]) -> C {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
