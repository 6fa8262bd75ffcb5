//! Alibaba Cloud OpenAPI: signing, credentials and a small signed client.
pub mod client;
pub mod credentials;
mod endpoint_maps;
pub mod endpoints;
pub mod identity;
mod quota;
pub mod ram;
pub mod role;
pub mod settings;
pub mod signer;

pub use client::AliyunClient;
pub use credentials::Credentials;
pub use role::RoleArn;
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
    Esa,
    Waf,
    Live,
    Vod,
    Ddoscoo,
    Apig,
    Nlb,
    Ga,
    /// FC 2.0 (fc-open 2021-04-06), whose endpoint carries the account id.
    Fc2,
    /// DirectMail (`[notify.mail]`).
    Dm,
    /// CloudMonitor (`[metrics]`).
    Cms,
    /// RAM: `alicert doctor` reads the caller's attached policies.
    Ram,
}

impl Product {
    const ALL: [Product; 23] = [
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
        Product::Esa,
        Product::Waf,
        Product::Live,
        Product::Vod,
        Product::Ddoscoo,
        Product::Apig,
        Product::Nlb,
        Product::Ga,
        Product::Fc2,
        Product::Dm,
        Product::Cms,
        Product::Ram,
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
            Product::Esa => "esa",
            Product::Waf => "waf",
            Product::Live => "live",
            Product::Vod => "vod",
            Product::Ddoscoo => "ddoscoo",
            Product::Apig => "apig",
            Product::Nlb => "nlb",
            Product::Ga => "ga",
            Product::Fc2 => "fc2",
            Product::Dm => "dm",
            Product::Cms => "cms",
            Product::Ram => "ram",
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
            // alibabacloud-esa20240910 3.16.0 client.py: version = '2024-09-10'.
            Product::Esa => "2024-09-10",
            Product::Waf => "2021-10-01",
            Product::Live => "2016-11-01",
            Product::Vod => "2017-03-21",
            Product::Ddoscoo => "2020-01-01",
            // Cloud-native API Gateway (ROA; x-acs-version).
            Product::Apig => "2024-03-27",
            Product::Nlb => "2022-04-30",
            Product::Ga => "2019-11-20",
            Product::Fc => "2023-03-30",
            Product::Fc2 => "2021-04-06",
            Product::Dm => "2015-11-23",
            Product::Cms => "2019-01-01",
            // alibabacloud-ram20150501 1.3.0 client.py: version = '2015-05-01'.
            Product::Ram => "2015-05-01",
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
