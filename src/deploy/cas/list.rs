//! ListUserCertificateOrder: the certificates uploaded to CAS, paged, newest first.
use serde::Deserialize;

use super::de_id;
use crate::aliyun::{AliyunClient, Product};
use crate::error::Result;

/// A certificate uploaded to CAS, as `ListUserCertificateOrder` lists it.
#[derive(Debug, Clone)]
pub(crate) struct Listed {
    pub id: String,
    pub name: String,
    pub serial: String,
    /// SHA-256 fingerprint as CAS prints it (its case is not documented: compare ignoring case).
    pub sha256: String,
    /// End of the validity day (`EndDate`, YYYY-MM-DD) in ms; 0 when CAS did not say.
    pub not_after_ms: i64,
}

/// Page size for ListUserCertificateOrder: the documented default (cas20200407
/// ListUserCertificateOrderRequest `ShowSize`: "Default value: 50"; no maximum is documented,
/// so alicert never asks for more and pages by `TotalCount`).
const SHOW_SIZE: u32 = 50;
/// Safety bound on pages (50 000 certificates).
const MAX_PAGES: u32 = 1000;

/// Which uploads to list: without `Status`, CAS returns only valid ones (ISSUED and
/// WILLEXPIRED: "当 OrderType=CERT 或者 UPLOAD，Status 为空时，将默认返回有效证书",
/// help.aliyun.com/document_detail/455804.html); cleanup also wants the expired ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Listing {
    Valid,
    ValidAndExpired,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Page {
    #[serde(default)]
    certificate_order_list: Vec<Item>,
    #[serde(default)]
    total_count: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", default)]
#[derive(Default)]
struct Item {
    name: Option<String>,
    #[serde(deserialize_with = "de_id")]
    certificate_id: Option<String>,
    serial_no: Option<String>,
    sha2: Option<String>,
    end_date: Option<String>,
}

/// The CAS uploads one invocation has listed, each status once, shared by all its certificates:
/// without it every certificate paged through every upload of the account, so a run of N
/// certificates made N times the calls (O(N²) over a fan-out of N). A listing may be up to one
/// run old: the copy a certificate uploads itself is never looked up in it (`NameRepeat` lists
/// afresh), and what it misses of another instance's work is left for the next run.
#[derive(Default)]
pub(crate) struct Uploads {
    valid: tokio::sync::OnceCell<Vec<Listed>>,
    expired: tokio::sync::OnceCell<Vec<Listed>>,
}

impl Uploads {
    /// Like [`list_uploads`], from this run's listings.
    pub(crate) async fn list(
        &self,
        client: &AliyunClient,
        listing: Listing,
        keep: impl Fn(&str) -> bool,
    ) -> Result<Vec<Listed>> {
        let pages = |status: Option<&'static str>| async move {
            let mut part = Vec::new();
            list_pages(client, status, &|_: &str| true, &mut part).await?;
            Ok::<_, crate::error::Error>(part)
        };
        let valid = self.valid.get_or_try_init(|| pages(None));
        let (valid, expired) = match listing {
            Listing::Valid => (valid.await?, None),
            Listing::ValidAndExpired => {
                let expired = self.expired.get_or_try_init(|| pages(Some("EXPIRED")));
                let (v, e) = tokio::join!(valid, expired);
                (v?, Some(e?))
            }
        };
        let all = valid.iter().chain(expired.into_iter().flatten());
        Ok(newest_first(
            all.filter(|c| keep(&c.name)).cloned().collect(),
        ))
    }
}

/// Every uploaded CAS certificate whose name `keep` accepts, newest first: latest expiry date,
/// and among equal dates the later upload (higher CertId).
pub(crate) async fn list_uploads(
    client: &AliyunClient,
    listing: Listing,
    keep: impl Fn(&str) -> bool,
) -> Result<Vec<Listed>> {
    let mut found = Vec::new();
    let statuses: &[Option<&str>] = match listing {
        Listing::Valid => &[None],
        Listing::ValidAndExpired => &[None, Some("EXPIRED")],
    };
    // The listings are independent: side by side.
    let listings = statuses.iter().map(|status| async {
        let mut part = Vec::new();
        list_pages(client, *status, &keep, &mut part)
            .await
            .map(|()| part)
    });
    for part in futures_util::future::join_all(listings).await {
        found.extend(part?);
    }
    Ok(newest_first(found))
}

/// Latest expiry first, among equal dates the later upload (higher CertId); each id once.
fn newest_first(mut found: Vec<Listed>) -> Vec<Listed> {
    found.sort_by_key(|c| std::cmp::Reverse((c.not_after_ms, c.id.parse::<u64>().unwrap_or(0))));
    found.dedup_by(|a, b| a.id == b.id);
    found
}

async fn list_pages(
    client: &AliyunClient,
    status: Option<&str>,
    keep: &impl Fn(&str) -> bool,
    found: &mut Vec<Listed>,
) -> Result<()> {
    let show = SHOW_SIZE.to_string();
    let mut seen = 0usize;
    for page in 1..=MAX_PAGES {
        let page_s = page.to_string();
        // No Keyword: it matches domains and resource ids, not names; filter here.
        let mut params = vec![
            ("OrderType", "UPLOAD"),
            ("CurrentPage", page_s.as_str()),
            ("ShowSize", show.as_str()),
        ];
        if let Some(s) = status {
            params.push(("Status", s));
        }
        let rsp = client
            .rpc(Product::Cas, "ListUserCertificateOrder", &params)
            .await?;
        let rsp: Page = crate::deploy::answer("ListUserCertificateOrder", rsp)?;
        let count = rsp.certificate_order_list.len();
        seen += count;
        for item in rsp.certificate_order_list {
            let name = item.name.unwrap_or_default();
            let Some(id) = item.certificate_id else {
                continue;
            };
            if !keep(&name) {
                continue;
            }
            found.push(Listed {
                id,
                name,
                serial: normalize_serial(item.serial_no.as_deref().unwrap_or_default()),
                sha256: item.sha2.unwrap_or_default().replace(':', ""),
                not_after_ms: end_date_ms(item.end_date.as_deref()),
            });
        }
        if count == 0 || seen >= rsp.total_count as usize {
            break;
        }
    }
    Ok(())
}

/// `EndDate` (YYYY-MM-DD, cas20200407 ListUserCertificateOrderResponseBody: "Returned when
/// OrderType is set to CERT or UPLOAD") as the last millisecond of that day, UTC; 0 if absent.
fn end_date_ms(v: Option<&str>) -> i64 {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    v.and_then(|s| time::Date::parse(s, &format).ok())
        .and_then(|d| d.next_day())
        .map(|d| d.midnight().assume_utc().unix_timestamp() * 1000 - 1)
        .unwrap_or(0)
}

/// Serials as CAS may print them (upper case, colons, leading zeros) → SPEC form.
fn normalize_serial(s: &str) -> String {
    let t = s.replace(':', "").to_ascii_lowercase();
    match t.trim_start_matches('0') {
        "" => "0".to_string(),
        rest => rest.to_string(),
    }
}

/// The actions this file calls (tests/policy.rs checks them against the calls).
pub(crate) const RAM: &[&str] = &["yundun-cert:ListUserCertificateOrder"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials() {
        assert_eq!(normalize_serial("00:0A:BC"), "abc");
        assert_eq!(normalize_serial("03ff"), "3ff");
        assert_eq!(normalize_serial("abc"), "abc");
    }

    #[test]
    fn end_dates_are_the_end_of_the_day() {
        let ms = end_date_ms(Some("2027-02-20"));
        // 2027-02-20T23:59:59.999Z
        assert_eq!(ms, 1_803_167_999_999);
        assert_eq!(end_date_ms(None), 0);
        assert_eq!(end_date_ms(Some("20 Feb 2027")), 0);
    }

    #[test]
    fn a_page_reads_numeric_and_string_ids() {
        let page: Page = serde_json::from_value(serde_json::json!({
            "TotalCount": 2,
            "CertificateOrderList": [
                {"CertificateId": 12, "Name": "a"},
                {"CertificateId": "13", "Name": "b", "EndDate": "2027-02-20"}
            ]
        }))
        .unwrap();
        let ids: Vec<_> = page
            .certificate_order_list
            .iter()
            .map(|i| i.certificate_id.clone())
            .collect();
        assert_eq!(ids, [Some("12".to_string()), Some("13".to_string())]);
        assert_eq!(page.total_count, 2);
    }
}
