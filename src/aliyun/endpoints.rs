//! Default endpoint hosts, one table per product, taken verbatim from the official SDKs'
//! `client.py` (`self._endpoint_map` and `self._endpoint_rule`) and resolved the way their
//! `alibabacloud_endpoint_util.Client.get_endpoint_rules` (alibabacloud-endpoint-util 0.0.4)
//! does: a region in the map gets the mapped host; otherwise rule `regional` gives
//! `<product>.<region>.aliyuncs.com` and `central` gives `<product>.aliyuncs.com`.
//!
//! Packages (PyPI, `pip download --no-deps`, read 2026-12): alibabacloud-alidns20150109 4.6.1,
//! alibabacloud-cas20200407 3.9.4, alibabacloud-cdn20180510 9.2.0, alibabacloud-dcdn20180115
//! 3.1.0, alibabacloud-cloudapi20160714 4.9.0 (API Gateway, product code `cloudapi`),
//! alibabacloud-kms20160120 3.3.1 (no map), alibabacloud-sts20150401 1.2.0,
//! alibabacloud-slb20140515 3.3.31, alibabacloud-alb20200616 1.3.3, alibabacloud-fc20230330
//! 4.8.3 (FC 3; its `ap-southeast-5` value carries a stray tab in the SDK, trimmed here),
//! alibabacloud-waf-openapi20211001 7.8.7 (WAF 3.0, code `waf-openapi`), alibabacloud-live20161101
//! 3.0.2, alibabacloud-vod20170321 3.12.1, alibabacloud-ddoscoo20200101 4.0.4 (no map).
//! alibabacloud-apig20240327 11.6.0 and alibabacloud-nlb20220430 4.1.3 (rule `regional`, no map),
//! alibabacloud-ga20191120 3.0.2 (rule `regional`, map: cn-hangzhou only).
//! alibabacloud-fc-open20210406 2.0.12 (FC 2.0: every entry of its map is
//! `account-id.<region>.fc.aliyuncs.com`, the account id to be filled in, see [`ACCOUNT_LABEL`]).
//! OSS is not an OpenAPI SDK: `oss-<region>.aliyuncs.com` (oss2 and the OSS "Regions and
//! endpoints" page), the bucket as a virtual host in front of it.
use super::endpoint_maps::{LIVE_MAP, VOD_MAP, WAF_MAP};
use super::Product;

/// How a product's host is found for a region outside its map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// `<code>.<region>.aliyuncs.com`
    Regional,
    /// `<code>.aliyuncs.com`
    Central,
}

/// The SDK's product code (what `get_endpoint_rules` puts in the host), rule and map.
fn table(product: Product) -> (&'static str, Rule, &'static [(&'static str, &'static str)]) {
    match product {
        Product::Alidns => ("alidns", Rule::Regional, ALIDNS_MAP),
        Product::Cas => ("cas", Rule::Regional, CAS_MAP),
        Product::Cdn => ("cdn", Rule::Central, CDN_MAP),
        Product::Dcdn => ("dcdn", Rule::Regional, DCDN_MAP),
        Product::ApiGateway => ("cloudapi", Rule::Regional, CLOUDAPI_MAP),
        Product::Kms => ("kms", Rule::Regional, KMS_MAP),
        Product::Sts => ("sts", Rule::Regional, STS_MAP),
        Product::Slb => ("slb", Rule::Regional, SLB_MAP),
        Product::Alb => ("alb", Rule::Regional, ALB_MAP),
        Product::Fc => ("fc", Rule::Regional, FC_MAP),
        // alibabacloud-esa20240910 3.16.0 client.py: `_endpoint_rule = 'regional'`, no map
        // (esa.cn-hangzhou.aliyuncs.com; international accounts esa.ap-southeast-1.aliyuncs.com).
        Product::Esa => ("esa", Rule::Regional, &[]),
        Product::Waf => ("waf-openapi", Rule::Regional, WAF_MAP),
        Product::Live => ("live", Rule::Regional, LIVE_MAP),
        Product::Vod => ("vod", Rule::Regional, VOD_MAP),
        Product::Ddoscoo => ("ddoscoo", Rule::Regional, &[]),
        Product::Apig => ("apig", Rule::Regional, &[]),
        Product::Nlb => ("nlb", Rule::Regional, &[]),
        Product::Ga => ("ga", Rule::Regional, GA_MAP),
        Product::Dm => ("dm", Rule::Regional, DM_MAP),
        Product::Cms => ("metrics", Rule::Regional, CMS_MAP),
        Product::Ram => ("ram", Rule::Regional, RAM_MAP),
        Product::Oss => ("oss", Rule::Regional, &[]),
        Product::Fc2 => ("fc", Rule::Regional, &[]),
    }
}

/// The host of `product` for `region` (no scheme).
pub fn host(product: Product, region: &str) -> String {
    if product == Product::Oss {
        return format!("oss-{region}.aliyuncs.com");
    }
    if product == Product::Fc2 {
        return format!("{ACCOUNT_LABEL}.{region}.fc.aliyuncs.com");
    }
    let (code, rule, map) = table(product);
    if let Some((_, host)) = map.iter().find(|(r, _)| *r == region) {
        return host.to_string();
    }
    match rule {
        Rule::Regional => format!("{code}.{region}.aliyuncs.com"),
        Rule::Central => format!("{code}.aliyuncs.com"),
    }
}

// ga (`_endpoint_rule = "regional"`)
const GA_MAP: &[(&str, &str)] = &[("cn-hangzhou", "ga.cn-hangzhou.aliyuncs.com")];
/// The first label of FC 2.0's hosts, replaced by the account id (`AliyunClient::for_account`).
pub const ACCOUNT_LABEL: &str = "account-id";

// alidns (`_endpoint_rule = "regional"`)
const ALIDNS_MAP: &[(&str, &str)] = &[
    ("cn-hangzhou", "alidns.aliyuncs.com"),
    ("public", "alidns.aliyuncs.com"),
];
// cas (`_endpoint_rule = "regional"`)
const CAS_MAP: &[(&str, &str)] = &[
    ("cn-hangzhou", "cas.aliyuncs.com"),
    ("ap-northeast-2-pop", "cas.aliyuncs.com"),
    ("ap-southeast-3", "cas.aliyuncs.com"),
    ("ap-southeast-5", "cas.aliyuncs.com"),
    ("cn-beijing", "cas.aliyuncs.com"),
    ("cn-beijing-finance-1", "cas.aliyuncs.com"),
    ("cn-beijing-finance-pop", "cas.aliyuncs.com"),
    ("cn-beijing-gov-1", "cas.aliyuncs.com"),
    ("cn-beijing-nu16-b01", "cas.aliyuncs.com"),
    ("cn-chengdu", "cas.aliyuncs.com"),
    ("cn-edge-1", "cas.aliyuncs.com"),
    ("cn-fujian", "cas.aliyuncs.com"),
    ("cn-haidian-cm12-c01", "cas.aliyuncs.com"),
    ("cn-hangzhou-bj-b01", "cas.aliyuncs.com"),
    ("cn-hangzhou-finance", "cas.aliyuncs.com"),
    ("cn-hangzhou-internal-prod-1", "cas.aliyuncs.com"),
    ("cn-hangzhou-internal-test-1", "cas.aliyuncs.com"),
    ("cn-hangzhou-internal-test-2", "cas.aliyuncs.com"),
    ("cn-hangzhou-internal-test-3", "cas.aliyuncs.com"),
    ("cn-hangzhou-test-306", "cas.aliyuncs.com"),
    ("cn-hongkong", "cas.aliyuncs.com"),
    ("cn-hongkong-finance-pop", "cas.aliyuncs.com"),
    ("cn-huhehaote", "cas.aliyuncs.com"),
    ("cn-huhehaote-nebula-1", "cas.aliyuncs.com"),
    ("cn-north-2-gov-1", "cas.aliyuncs.com"),
    ("cn-qingdao", "cas.aliyuncs.com"),
    ("cn-qingdao-nebula", "cas.aliyuncs.com"),
    ("cn-shanghai", "cas.aliyuncs.com"),
    ("cn-shanghai-et15-b01", "cas.aliyuncs.com"),
    ("cn-shanghai-et2-b01", "cas.aliyuncs.com"),
    ("cn-shanghai-finance-1", "cas.aliyuncs.com"),
    ("cn-shanghai-inner", "cas.aliyuncs.com"),
    ("cn-shanghai-internal-test-1", "cas.aliyuncs.com"),
    ("cn-shenzhen", "cas.aliyuncs.com"),
    ("cn-shenzhen-finance-1", "cas.aliyuncs.com"),
    ("cn-shenzhen-inner", "cas.aliyuncs.com"),
    ("cn-shenzhen-st4-d01", "cas.aliyuncs.com"),
    ("cn-shenzhen-su18-b01", "cas.aliyuncs.com"),
    ("cn-wuhan", "cas.aliyuncs.com"),
    ("cn-wulanchabu", "cas.aliyuncs.com"),
    ("cn-yushanfang", "cas.aliyuncs.com"),
    ("cn-zhangbei", "cas.aliyuncs.com"),
    ("cn-zhangbei-na61-b01", "cas.aliyuncs.com"),
    ("cn-zhangjiakou", "cas.aliyuncs.com"),
    ("cn-zhangjiakou-na62-a01", "cas.aliyuncs.com"),
    ("cn-zhengzhou-nebula-1", "cas.aliyuncs.com"),
    ("eu-west-1", "cas.aliyuncs.com"),
    ("eu-west-1-oxs", "cas.aliyuncs.com"),
    ("rus-west-1-pop", "cas.aliyuncs.com"),
    ("us-east-1", "cas.aliyuncs.com"),
    ("us-west-1", "cas.aliyuncs.com"),
];
// cdn (`_endpoint_rule = "central"`)
const CDN_MAP: &[(&str, &str)] = &[
    ("ap-northeast-1", "cdn.ap-southeast-1.aliyuncs.com"),
    ("ap-south-1", "cdn.ap-southeast-1.aliyuncs.com"),
    ("ap-southeast-1", "cdn.ap-southeast-1.aliyuncs.com"),
    ("ap-southeast-2", "cdn.ap-southeast-1.aliyuncs.com"),
    ("ap-southeast-3", "cdn.ap-southeast-1.aliyuncs.com"),
    ("ap-southeast-5", "cdn.ap-southeast-1.aliyuncs.com"),
    ("eu-central-1", "cdn.ap-southeast-1.aliyuncs.com"),
    ("eu-west-1", "cdn.ap-southeast-1.aliyuncs.com"),
    ("me-east-1", "cdn.ap-southeast-1.aliyuncs.com"),
    ("us-east-1", "cdn.ap-southeast-1.aliyuncs.com"),
    ("us-west-1", "cdn.ap-southeast-1.aliyuncs.com"),
];
// dcdn (`_endpoint_rule = "regional"`)
const DCDN_MAP: &[(&str, &str)] = &[
    ("ap-northeast-1", "dcdn.aliyuncs.com"),
    ("ap-northeast-2-pop", "dcdn.aliyuncs.com"),
    ("ap-south-1", "dcdn.aliyuncs.com"),
    ("ap-southeast-1", "dcdn.aliyuncs.com"),
    ("ap-southeast-2", "dcdn.aliyuncs.com"),
    ("ap-southeast-3", "dcdn.aliyuncs.com"),
    ("ap-southeast-5", "dcdn.aliyuncs.com"),
    ("cn-beijing", "dcdn.aliyuncs.com"),
    ("cn-beijing-finance-1", "dcdn.aliyuncs.com"),
    ("cn-beijing-finance-pop", "dcdn.aliyuncs.com"),
    ("cn-beijing-gov-1", "dcdn.aliyuncs.com"),
    ("cn-beijing-nu16-b01", "dcdn.aliyuncs.com"),
    ("cn-chengdu", "dcdn.aliyuncs.com"),
    ("cn-edge-1", "dcdn.aliyuncs.com"),
    ("cn-fujian", "dcdn.aliyuncs.com"),
    ("cn-haidian-cm12-c01", "dcdn.aliyuncs.com"),
    ("cn-hangzhou", "dcdn.aliyuncs.com"),
    ("cn-hangzhou-bj-b01", "dcdn.aliyuncs.com"),
    ("cn-hangzhou-finance", "dcdn.aliyuncs.com"),
    ("cn-hangzhou-internal-prod-1", "dcdn.aliyuncs.com"),
    ("cn-hangzhou-internal-test-1", "dcdn.aliyuncs.com"),
    ("cn-hangzhou-internal-test-2", "dcdn.aliyuncs.com"),
    ("cn-hangzhou-internal-test-3", "dcdn.aliyuncs.com"),
    ("cn-hangzhou-test-306", "dcdn.aliyuncs.com"),
    ("cn-hongkong", "dcdn.aliyuncs.com"),
    ("cn-hongkong-finance-pop", "dcdn.aliyuncs.com"),
    ("cn-huhehaote", "dcdn.aliyuncs.com"),
    ("cn-north-2-gov-1", "dcdn.aliyuncs.com"),
    ("cn-qingdao", "dcdn.aliyuncs.com"),
    ("cn-qingdao-nebula", "dcdn.aliyuncs.com"),
    ("cn-shanghai", "dcdn.aliyuncs.com"),
    ("cn-shanghai-et15-b01", "dcdn.aliyuncs.com"),
    ("cn-shanghai-et2-b01", "dcdn.aliyuncs.com"),
    ("cn-shanghai-finance-1", "dcdn.aliyuncs.com"),
    ("cn-shanghai-inner", "dcdn.aliyuncs.com"),
    ("cn-shanghai-internal-test-1", "dcdn.aliyuncs.com"),
    ("cn-shenzhen", "dcdn.aliyuncs.com"),
    ("cn-shenzhen-finance-1", "dcdn.aliyuncs.com"),
    ("cn-shenzhen-inner", "dcdn.aliyuncs.com"),
    ("cn-shenzhen-st4-d01", "dcdn.aliyuncs.com"),
    ("cn-shenzhen-su18-b01", "dcdn.aliyuncs.com"),
    ("cn-wuhan", "dcdn.aliyuncs.com"),
    ("cn-yushanfang", "dcdn.aliyuncs.com"),
    ("cn-zhangbei-na61-b01", "dcdn.aliyuncs.com"),
    ("cn-zhangjiakou", "dcdn.aliyuncs.com"),
    ("cn-zhangjiakou-na62-a01", "dcdn.aliyuncs.com"),
    ("cn-zhengzhou-nebula-1", "dcdn.aliyuncs.com"),
    ("eu-central-1", "dcdn.aliyuncs.com"),
    ("eu-west-1", "dcdn.aliyuncs.com"),
    ("eu-west-1-oxs", "dcdn.aliyuncs.com"),
    ("me-east-1", "dcdn.aliyuncs.com"),
    ("rus-west-1-pop", "dcdn.aliyuncs.com"),
    ("us-east-1", "dcdn.aliyuncs.com"),
    ("us-west-1", "dcdn.aliyuncs.com"),
];
// cloudapi (`_endpoint_rule = "regional"`)
const CLOUDAPI_MAP: &[(&str, &str)] = &[
    ("cn-qingdao", "apigateway.cn-qingdao.aliyuncs.com"),
    ("cn-beijing", "apigateway.cn-beijing.aliyuncs.com"),
    ("cn-zhangjiakou", "apigateway.cn-zhangjiakou.aliyuncs.com"),
    ("cn-huhehaote", "apigateway.cn-huhehaote.aliyuncs.com"),
    ("cn-wulanchabu", "apigateway.cn-wulanchabu.aliyuncs.com"),
    ("cn-hangzhou", "apigateway.cn-hangzhou.aliyuncs.com"),
    ("cn-shanghai", "apigateway.cn-shanghai.aliyuncs.com"),
    ("cn-shenzhen", "apigateway.cn-shenzhen.aliyuncs.com"),
    ("cn-heyuan", "apigateway.cn-heyuan.aliyuncs.com"),
    ("cn-guangzhou", "apigateway.cn-guangzhou.aliyuncs.com"),
    ("cn-chengdu", "apigateway.cn-chengdu.aliyuncs.com"),
    ("cn-hongkong", "apigateway.cn-hongkong.aliyuncs.com"),
    ("ap-northeast-1", "apigateway.ap-northeast-1.aliyuncs.com"),
    ("ap-southeast-1", "apigateway.ap-southeast-1.aliyuncs.com"),
    ("ap-southeast-2", "apigateway.ap-southeast-2.aliyuncs.com"),
    ("ap-southeast-3", "apigateway.ap-southeast-3.aliyuncs.com"),
    ("ap-southeast-5", "apigateway.ap-southeast-5.aliyuncs.com"),
    ("ap-southeast-6", "apigateway.ap-southeast-6.aliyuncs.com"),
    ("ap-southeast-7", "apigateway.ap-southeast-7.aliyuncs.com"),
    ("us-east-1", "apigateway.us-east-1.aliyuncs.com"),
    ("us-west-1", "apigateway.us-west-1.aliyuncs.com"),
    ("eu-west-1", "apigateway.eu-west-1.aliyuncs.com"),
    ("eu-central-1", "apigateway.eu-central-1.aliyuncs.com"),
    ("ap-south-1", "apigateway.ap-south-1.aliyuncs.com"),
    ("me-east-1", "apigateway.me-east-1.aliyuncs.com"),
    ("me-central-1", "apigateway.me-central-1.aliyuncs.com"),
    (
        "cn-hangzhou-finance",
        "apigateway.cn-hangzhou-finance.aliyuncs.com",
    ),
    (
        "cn-shanghai-finance-1",
        "apigateway.cn-shanghai-finance-1.aliyuncs.com",
    ),
    (
        "cn-shenzhen-finance-1",
        "apigateway.cn-shenzhen-finance-1.aliyuncs.com",
    ),
    (
        "cn-north-2-gov-1",
        "apigateway.cn-north-2-gov-1.aliyuncs.com",
    ),
    ("ap-northeast-2-pop", "apigateway.aliyuncs.com"),
    (
        "cn-beijing-finance-1",
        "apigateway.cn-beijing-finance-1.aliyuncs.com",
    ),
    ("cn-beijing-finance-pop", "apigateway.aliyuncs.com"),
    ("cn-beijing-gov-1", "apigateway.aliyuncs.com"),
    ("cn-beijing-nu16-b01", "apigateway.aliyuncs.com"),
    ("cn-edge-1", "apigateway.aliyuncs.com"),
    ("cn-fujian", "apigateway.aliyuncs.com"),
    ("cn-haidian-cm12-c01", "apigateway.aliyuncs.com"),
    ("cn-hangzhou-bj-b01", "apigateway.aliyuncs.com"),
    ("cn-hangzhou-internal-prod-1", "apigateway.aliyuncs.com"),
    ("cn-hangzhou-internal-test-1", "apigateway.aliyuncs.com"),
    ("cn-hangzhou-internal-test-2", "apigateway.aliyuncs.com"),
    ("cn-hangzhou-internal-test-3", "apigateway.aliyuncs.com"),
    ("cn-hangzhou-test-306", "apigateway.aliyuncs.com"),
    ("cn-hongkong-finance-pop", "apigateway.aliyuncs.com"),
    ("cn-huhehaote-nebula-1", "apigateway.aliyuncs.com"),
    ("cn-qingdao-nebula", "apigateway.aliyuncs.com"),
    ("cn-shanghai-et15-b01", "apigateway.aliyuncs.com"),
    ("cn-shanghai-et2-b01", "apigateway.aliyuncs.com"),
    (
        "cn-shanghai-inner",
        "apigateway.cn-shanghai-inner.aliyuncs.com",
    ),
    ("cn-shanghai-internal-test-1", "apigateway.aliyuncs.com"),
    ("cn-shenzhen-inner", "apigateway.aliyuncs.com"),
    ("cn-shenzhen-st4-d01", "apigateway.aliyuncs.com"),
    ("cn-shenzhen-su18-b01", "apigateway.aliyuncs.com"),
    ("cn-wuhan", "apigateway.aliyuncs.com"),
    ("cn-yushanfang", "apigateway.aliyuncs.com"),
    ("cn-zhangbei", "apigateway.aliyuncs.com"),
    ("cn-zhangbei-na61-b01", "apigateway.aliyuncs.com"),
    ("cn-zhangjiakou-na62-a01", "apigateway.aliyuncs.com"),
    ("cn-zhengzhou-nebula-1", "apigateway.aliyuncs.com"),
    ("eu-west-1-oxs", "apigateway.aliyuncs.com"),
    ("rus-west-1-pop", "apigateway.aliyuncs.com"),
];
// dm: alibabacloud-dm20151123 1.11.1 client.py (`_endpoint_rule = "regional"`).
const DM_MAP: &[(&str, &str)] = &[
    ("ap-southeast-1", "dm.ap-southeast-1.aliyuncs.com"),
    ("ap-southeast-2", "dm.ap-southeast-2.aliyuncs.com"),
    ("cn-hangzhou", "dm.aliyuncs.com"),
    ("us-east-1", "dm.us-east-1.aliyuncs.com"),
    ("eu-central-1", "dm.eu-central-1.aliyuncs.com"),
];
// cms: alibabacloud-cms20190101 4.0.10 client.py (`_endpoint_rule = "regional"`, product code
// `metrics`; every mapped region is `metrics.<region>.aliyuncs.com`, which the rule also gives,
// so only the exceptions are listed).
const CMS_MAP: &[(&str, &str)] = &[];
// kms (`_endpoint_rule = "regional"`)
const KMS_MAP: &[(&str, &str)] = &[];
// ram (alibabacloud-ram20150501 1.3.0, `_endpoint_rule = "regional"`)
const RAM_MAP: &[(&str, &str)] = &[
    ("cn-beijing", "ram.aliyuncs.com"),
    ("cn-qingdao", "ram.aliyuncs.com"),
    ("cn-shanghai", "ram.aliyuncs.com"),
    ("cn-hongkong", "ram.aliyuncs.com"),
    ("cn-zhangjiakou", "ram.aliyuncs.com"),
    ("cn-shenzhen", "ram.aliyuncs.com"),
    ("ap-northeast-1", "ram.aliyuncs.com"),
    ("cn-chengdu", "ram.aliyuncs.com"),
    ("ap-southeast-1", "ram.aliyuncs.com"),
    ("ap-southeast-3", "ram.aliyuncs.com"),
    ("cn-huhehaote", "ram.aliyuncs.com"),
    ("ap-southeast-5", "ram.aliyuncs.com"),
    ("cn-hangzhou", "ram.aliyuncs.com"),
    ("us-east-1", "ram.aliyuncs.com"),
    ("eu-west-1", "ram.aliyuncs.com"),
    ("us-west-1", "ram.aliyuncs.com"),
    ("eu-central-1", "ram.aliyuncs.com"),
    ("me-east-1", "ram.aliyuncs.com"),
    ("cn-shenzhen-finance-1", "ram.aliyuncs.com"),
    ("cn-shanghai-finance-1", "ram.aliyuncs.com"),
    ("cn-beijing-finance-1", "ram.aliyuncs.com"),
    ("cn-hangzhou-finance", "ram.aliyuncs.com"),
];
// sts (`_endpoint_rule = "regional"`)
const STS_MAP: &[(&str, &str)] = &[
    ("ap-northeast-2-pop", "sts.aliyuncs.com"),
    ("ap-south-1", "sts.aliyuncs.com"),
    ("ap-southeast-2", "sts.aliyuncs.com"),
    ("cn-beijing-finance-pop", "sts.aliyuncs.com"),
    ("cn-beijing-gov-1", "sts.aliyuncs.com"),
    ("cn-beijing-nu16-b01", "sts.aliyuncs.com"),
    ("cn-edge-1", "sts.aliyuncs.com"),
    ("cn-fujian", "sts.aliyuncs.com"),
    ("cn-haidian-cm12-c01", "sts.aliyuncs.com"),
    ("cn-hangzhou-bj-b01", "sts.aliyuncs.com"),
    ("cn-hangzhou-internal-prod-1", "sts.aliyuncs.com"),
    ("cn-hangzhou-internal-test-1", "sts.aliyuncs.com"),
    ("cn-hangzhou-internal-test-2", "sts.aliyuncs.com"),
    ("cn-hangzhou-internal-test-3", "sts.aliyuncs.com"),
    ("cn-hangzhou-test-306", "sts.aliyuncs.com"),
    ("cn-hongkong-finance-pop", "sts.aliyuncs.com"),
    ("cn-huhehaote-nebula-1", "sts.aliyuncs.com"),
    ("cn-shanghai-et15-b01", "sts.aliyuncs.com"),
    ("cn-shanghai-et2-b01", "sts.aliyuncs.com"),
    ("cn-shanghai-inner", "sts.aliyuncs.com"),
    ("cn-shanghai-internal-test-1", "sts.aliyuncs.com"),
    ("cn-shenzhen-inner", "sts.aliyuncs.com"),
    ("cn-shenzhen-st4-d01", "sts.aliyuncs.com"),
    ("cn-shenzhen-su18-b01", "sts.aliyuncs.com"),
    ("cn-wuhan", "sts.aliyuncs.com"),
    ("cn-yushanfang", "sts.aliyuncs.com"),
    ("cn-zhangbei", "sts.aliyuncs.com"),
    ("cn-zhangbei-na61-b01", "sts.aliyuncs.com"),
    ("cn-zhangjiakou-na62-a01", "sts.aliyuncs.com"),
    ("cn-zhengzhou-nebula-1", "sts.aliyuncs.com"),
    ("eu-west-1-oxs", "sts.aliyuncs.com"),
    ("rus-west-1-pop", "sts.aliyuncs.com"),
];
// slb (`_endpoint_rule = "regional"`)
const SLB_MAP: &[(&str, &str)] = &[
    ("cn-qingdao", "slb.aliyuncs.com"),
    ("cn-beijing", "slb.aliyuncs.com"),
    ("cn-hangzhou", "slb.aliyuncs.com"),
    ("cn-shanghai", "slb.aliyuncs.com"),
    ("cn-shenzhen", "slb.aliyuncs.com"),
    ("cn-hongkong", "slb.aliyuncs.com"),
    ("ap-southeast-1", "slb.aliyuncs.com"),
    ("us-east-1", "slb.aliyuncs.com"),
    ("us-west-1", "slb.aliyuncs.com"),
    ("cn-shanghai-finance-1", "slb.aliyuncs.com"),
    ("cn-shenzhen-finance-1", "slb.aliyuncs.com"),
    ("cn-north-2-gov-1", "slb.aliyuncs.com"),
    ("ap-northeast-2-pop", "slb.aliyuncs.com"),
    ("cn-beijing-finance-pop", "slb.aliyuncs.com"),
    ("cn-beijing-gov-1", "slb.aliyuncs.com"),
    ("cn-beijing-nu16-b01", "slb.aliyuncs.com"),
    ("cn-edge-1", "slb.aliyuncs.com"),
    ("cn-fujian", "slb.aliyuncs.com"),
    ("cn-haidian-cm12-c01", "slb.aliyuncs.com"),
    ("cn-hangzhou-bj-b01", "slb.aliyuncs.com"),
    ("cn-hangzhou-finance", "slb.aliyuncs.com"),
    ("cn-hangzhou-internal-prod-1", "slb.aliyuncs.com"),
    ("cn-hangzhou-internal-test-1", "slb.aliyuncs.com"),
    ("cn-hangzhou-internal-test-2", "slb.aliyuncs.com"),
    ("cn-hangzhou-internal-test-3", "slb.aliyuncs.com"),
    ("cn-hangzhou-test-306", "slb.aliyuncs.com"),
    ("cn-hongkong-finance-pop", "slb.aliyuncs.com"),
    (
        "cn-huhehaote-nebula-1",
        "slb-api.cn-qingdao-nebula.aliyuncs.com",
    ),
    ("cn-shanghai-et15-b01", "slb.aliyuncs.com"),
    ("cn-shanghai-et2-b01", "slb.aliyuncs.com"),
    ("cn-shanghai-inner", "slb.aliyuncs.com"),
    ("cn-shanghai-internal-test-1", "slb.aliyuncs.com"),
    ("cn-shenzhen-inner", "slb.aliyuncs.com"),
    ("cn-shenzhen-st4-d01", "slb.aliyuncs.com"),
    ("cn-shenzhen-su18-b01", "slb.aliyuncs.com"),
    ("cn-wuhan", "slb.aliyuncs.com"),
    ("cn-yushanfang", "slb.aliyuncs.com"),
    ("cn-zhangbei", "slb.aliyuncs.com"),
    ("cn-zhangbei-na61-b01", "slb.aliyuncs.com"),
    ("cn-zhangjiakou-na62-a01", "slb.aliyuncs.com"),
    ("cn-zhengzhou-nebula-1", "slb.aliyuncs.com"),
    ("eu-west-1-oxs", "slb.aliyuncs.com"),
    ("rus-west-1-pop", "slb.aliyuncs.com"),
];
// alb (`_endpoint_rule = "regional"`)
const ALB_MAP: &[(&str, &str)] = &[("cn-hangzhou-finance", "alb.cn-hangzhou.aliyuncs.com")];
// fc (`_endpoint_rule = "regional"`)
const FC_MAP: &[(&str, &str)] = &[
    ("ap-northeast-1", "fcv3.ap-northeast-1.aliyuncs.com"),
    ("ap-northeast-2", "fcv3.ap-northeast-2.aliyuncs.com"),
    ("ap-southeast-1", "fcv3.ap-southeast-1.aliyuncs.com"),
    ("ap-southeast-2", "fcv3.ap-southeast-2.aliyuncs.com"),
    ("ap-southeast-3", "fcv3.ap-southeast-3.aliyuncs.com"),
    ("ap-southeast-5", "fcv3.ap-southeast-5.aliyuncs.com"),
    ("ap-southeast-7", "fcv3.ap-southeast-7.aliyuncs.com"),
    ("cn-beijing", "fcv3.cn-beijing.aliyuncs.com"),
    ("cn-chengdu", "fcv3.cn-chengdu.aliyuncs.com"),
    ("cn-hangzhou", "fcv3.cn-hangzhou.aliyuncs.com"),
    ("cn-hongkong", "fcv3.cn-hongkong.aliyuncs.com"),
    ("cn-huhehaote", "fcv3.cn-huhehaote.aliyuncs.com"),
    ("cn-qingdao", "fcv3.cn-qingdao.aliyuncs.com"),
    ("cn-shanghai", "fcv3.cn-shanghai.aliyuncs.com"),
    ("cn-shenzhen", "fcv3.cn-shenzhen.aliyuncs.com"),
    ("cn-wulanchabu", "fcv3.cn-wulanchabu.aliyuncs.com"),
    ("cn-zhangjiakou", "fcv3.cn-zhangjiakou.aliyuncs.com"),
    ("us-west-1", "fcv3.us-west-1.aliyuncs.com"),
    ("us-east-1", "fcv3.us-east-1.aliyuncs.com"),
    ("eu-west-1", "fcv3.eu-west-1.aliyuncs.com"),
    ("eu-central-1", "fcv3.eu-central-1.aliyuncs.com"),
    ("me-central-1", "me-central-1.fc.aliyuncs.com"),
    ("ap-south-1", "fcv3.ap-south-1.aliyuncs.com"),
    (
        "cn-shanghai-finance-1",
        "cn-shanghai-finance-1.fc.aliyuncs.com",
    ),
    ("cn-heyuan-acdr-1", "cn-heyuan-acdr-1.fc.aliyuncs.com"),
    ("cn-hangzhou-finance", "cn-hangzhou-finance.fc.aliyuncs.com"),
];

#[cfg(test)]
mod tests {
    use super::*;

    // Expected hosts: what each SDK package named in the module comment resolves (map entry, or
    // its endpoint rule), e.g. `alibabacloud_slb20140515.client.Client` with region_id set.
    /// (product, region, host) from the SDKs' endpoint maps and rules.
    const CASES: &[(Product, &str, &str)] = &[
        // alidns20150109 4.6.1: cn-hangzhou mapped, regional elsewhere.
        (Product::Alidns, "cn-hangzhou", "alidns.aliyuncs.com"),
        (
            Product::Alidns,
            "cn-shanghai",
            "alidns.cn-shanghai.aliyuncs.com",
        ),
        // cas20200407 3.9.4: the Chinese mainland and the mapped overseas regions are central;
        // ap-southeast-1 (the international site) is regional.
        (Product::Cas, "cn-hangzhou", "cas.aliyuncs.com"),
        (Product::Cas, "eu-west-1", "cas.aliyuncs.com"),
        (
            Product::Cas,
            "ap-southeast-1",
            "cas.ap-southeast-1.aliyuncs.com",
        ),
        // cdn20180510 9.2.0: international regions → cdn.ap-southeast-1, else central.
        (Product::Cdn, "cn-hangzhou", "cdn.aliyuncs.com"),
        (Product::Cdn, "us-east-1", "cdn.ap-southeast-1.aliyuncs.com"),
        (
            Product::Cdn,
            "ap-northeast-1",
            "cdn.ap-southeast-1.aliyuncs.com",
        ),
        // dcdn20180115 3.1.0
        (Product::Dcdn, "eu-central-1", "dcdn.aliyuncs.com"),
        // cloudapi20160714 4.9.0
        (
            Product::ApiGateway,
            "cn-shanghai",
            "apigateway.cn-shanghai.aliyuncs.com",
        ),
        (Product::ApiGateway, "cn-wuhan", "apigateway.aliyuncs.com"),
        (
            Product::ApiGateway,
            "xx-new-1",
            "cloudapi.xx-new-1.aliyuncs.com",
        ),
        // kms20160120 3.3.1: regional, no map.
        (Product::Kms, "cn-hangzhou", "kms.cn-hangzhou.aliyuncs.com"),
        (
            Product::Kms,
            "ap-southeast-1",
            "kms.ap-southeast-1.aliyuncs.com",
        ),
        // sts20150401 1.2.0
        (Product::Sts, "cn-hangzhou", "sts.cn-hangzhou.aliyuncs.com"),
        (Product::Sts, "ap-south-1", "sts.aliyuncs.com"),
        // slb20140515 3.3.31: central only for the regions in its map.
        (Product::Slb, "cn-hangzhou", "slb.aliyuncs.com"),
        (Product::Slb, "ap-southeast-1", "slb.aliyuncs.com"),
        (Product::Slb, "cn-chengdu", "slb.cn-chengdu.aliyuncs.com"),
        (
            Product::Slb,
            "eu-central-1",
            "slb.eu-central-1.aliyuncs.com",
        ),
        // alb20200616 1.3.3
        (Product::Alb, "cn-hangzhou", "alb.cn-hangzhou.aliyuncs.com"),
        (
            Product::Alb,
            "cn-hangzhou-finance",
            "alb.cn-hangzhou.aliyuncs.com",
        ),
        // fc20230330 4.8.3: fcv3.<region>, me-central-1 and finance regions special.
        (Product::Fc, "cn-hangzhou", "fcv3.cn-hangzhou.aliyuncs.com"),
        (Product::Fc, "me-central-1", "me-central-1.fc.aliyuncs.com"),
        (
            Product::Fc,
            "ap-southeast-5",
            "fcv3.ap-southeast-5.aliyuncs.com",
        ),
        // esa20240910 3.16.0: regional, no map.
        (Product::Esa, "cn-hangzhou", "esa.cn-hangzhou.aliyuncs.com"),
        (
            Product::Esa,
            "ap-southeast-1",
            "esa.ap-southeast-1.aliyuncs.com",
        ),
        // waf-openapi20211001 7.8.7: the Chinese mainland → cn-hangzhou, elsewhere ap-southeast-1.
        (
            Product::Waf,
            "cn-shanghai",
            "wafopenapi.cn-hangzhou.aliyuncs.com",
        ),
        (
            Product::Waf,
            "eu-central-1",
            "wafopenapi.ap-southeast-1.aliyuncs.com",
        ),
        // live20161101 3.0.2: central for every mapped region.
        (Product::Live, "ap-southeast-1", "live.aliyuncs.com"),
        // vod20170321 3.12.1: cn-hangzhou is served from cn-shanghai.
        (Product::Vod, "cn-hangzhou", "vod.cn-shanghai.aliyuncs.com"),
        (
            Product::Vod,
            "ap-southeast-1",
            "vod.ap-southeast-1.aliyuncs.com",
        ),
        // ddoscoo20200101 4.0.4: regional, no map.
        (
            Product::Ddoscoo,
            "ap-southeast-1",
            "ddoscoo.ap-southeast-1.aliyuncs.com",
        ),
        // apig20240327 11.6.0, nlb20220430 4.1.3: regional, no map; ga20191120 3.0.2: one entry.
        (
            Product::Apig,
            "cn-shanghai",
            "apig.cn-shanghai.aliyuncs.com",
        ),
        (Product::Nlb, "cn-beijing", "nlb.cn-beijing.aliyuncs.com"),
        (Product::Ga, "cn-hangzhou", "ga.cn-hangzhou.aliyuncs.com"),
        (
            Product::Ga,
            "ap-southeast-1",
            "ga.ap-southeast-1.aliyuncs.com",
        ),
        // OSS
        (Product::Oss, "cn-shanghai", "oss-cn-shanghai.aliyuncs.com"),
        // fc-open20210406 2.0.12: account-id.<region>.fc.aliyuncs.com everywhere.
        (
            Product::Fc2,
            "cn-hangzhou",
            "account-id.cn-hangzhou.fc.aliyuncs.com",
        ),
    ];

    #[test]
    fn hosts_follow_the_sdk_maps_and_rules() {
        for (p, region, want) in CASES {
            assert_eq!(host(*p, region), *want, "{p:?} in {region}");
        }
    }
}
