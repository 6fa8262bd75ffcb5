//! The emulator's CDN/DCDN domain listing (DescribeUserDomains, DescribeDcdnUserDomains): the
//! SDK's paging limits are enforced (PageSize 1-500, PageNumber 1-100000), pages hold what they
//! say (tests/discovery.rs shows alicert reading every page).
mod support;

use alicert::aliyun::{AliyunClient, Product};
use alicert::error::Error;
use serde_json::Value;
use support::emulator::{self, Emulator, Seed};

const AK: &str = "LTAI5tCdnListKey0001";
const SECRET: &str = "cdn-list-secret-0001";

fn client(emu: &Emulator) -> AliyunClient {
    emu.client(AK, SECRET, None)
}

fn code(r: Result<Value, Error>) -> String {
    match r {
        Err(Error::Aliyun { code, .. }) => code,
        Err(other) => panic!("not an Alibaba error: {other}"),
        Ok(v) => panic!("accepted: {v}"),
    }
}

async fn seeded(n: usize) -> Emulator {
    let mut seed = Seed::default().access_key(AK, SECRET);
    for i in 0..n {
        seed = seed
            .cdn_domain(&format!("d{i:04}.example.com"))
            .dcdn_domain(&format!("d{i:04}.example.com"));
    }
    emulator::start(seed).await
}

#[tokio::test]
async fn listing_rejects_page_sizes_and_numbers_out_of_the_documented_range() {
    let emu = seeded(3).await;
    let c = client(&emu);
    for (product, action) in [
        (Product::Cdn, "DescribeUserDomains"),
        (Product::Dcdn, "DescribeDcdnUserDomains"),
    ] {
        for bad in [
            [("PageSize", "501")],
            [("PageSize", "0")],
            [("PageNumber", "0")],
            [("PageNumber", "100001")],
            [("PageSize", "x")],
        ] {
            let code = code(c.rpc(product, action, &bad).await);
            assert!(
                code.starts_with("InvalidParameter"),
                "{action} {bad:?}: {code}"
            );
        }
        // A filter the emulator does not model is refused, never silently ignored.
        let filtered = code(c.rpc(product, action, &[("DomainStatus", "online")]).await);
        assert!(filtered.starts_with("InvalidParameter"), "{filtered}");
        let rsp = c
            .rpc(
                product,
                action,
                &[("PageSize", "500"), ("PageNumber", "100000")],
            )
            .await
            .unwrap();
        assert_eq!(rsp["Domains"]["PageData"], serde_json::json!([]));
        assert_eq!(rsp["TotalCount"], 3);
    }
}

#[tokio::test]
async fn pages_hold_what_they_say_and_default_to_twenty() {
    let emu = seeded(45).await;
    let c = client(&emu);
    let names = |rsp: &Value| -> Vec<String> {
        rsp["Domains"]["PageData"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["DomainName"].as_str().unwrap().to_string())
            .collect()
    };
    let first = c
        .rpc(Product::Cdn, "DescribeUserDomains", &[])
        .await
        .unwrap();
    assert_eq!(names(&first).len(), 20);
    assert_eq!(
        (first["PageNumber"].clone(), first["PageSize"].clone()),
        (1.into(), 20.into())
    );
    assert_eq!(first["TotalCount"], 45);
    let third = c
        .rpc(Product::Cdn, "DescribeUserDomains", &[("PageNumber", "3")])
        .await
        .unwrap();
    assert_eq!(
        names(&third),
        [
            "d0040.example.com",
            "d0041.example.com",
            "d0042.example.com",
            "d0043.example.com",
            "d0044.example.com"
        ]
    );
    let dcdn = c
        .rpc(
            Product::Dcdn,
            "DescribeDcdnUserDomains",
            &[("PageSize", "500")],
        )
        .await
        .unwrap();
    assert_eq!(names(&dcdn).len(), 45);
    assert_eq!(dcdn["Domains"]["PageData"][0]["SSLProtocol"], "off");
}
