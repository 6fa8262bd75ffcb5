//! Alidns request rules: record types, paging limits, RR/type/remark validation, conflicts,
//! and the JSON shapes of zones and records.
use super::*;

pub(crate) const RECORD_TYPES: [&str; 10] = [
    "A",
    "AAAA",
    "CNAME",
    "TXT",
    "MX",
    "NS",
    "SRV",
    "CAA",
    "REDIRECT_URL",
    "FORWARD_URL",
];

pub(crate) fn no_such_zone() -> ApiError {
    err(
        400,
        "InvalidDomainName.NoExist",
        "The specified domain name does not exist. Refresh the page and try again.",
    )
}

pub(crate) fn record_not_found() -> ApiError {
    err(
        400,
        "DomainRecordNotBelongToUser",
        "The DNS record does not belong to the current user or does not exist.",
    )
}

// PageSize maxima from the SDK request models (PyPI alibabacloud-alidns20150109 4.6.1,
// alibabacloud_alidns20150109/models/): _describe_domains_request.py "The maximum value is
// **100**", _describe_sub_domain_records_request.py "Maximum value: **100**",
// _describe_domain_records_request.py "Maximum value: **500**"; default 20 for all three;
// PageNumber "starts from **1**".
pub(crate) const DESCRIBE_DOMAINS_MAX_PAGE_SIZE: u64 = 100;
pub(crate) const DESCRIBE_SUB_DOMAIN_RECORDS_MAX_PAGE_SIZE: u64 = 100;
pub(crate) const DESCRIBE_DOMAIN_RECORDS_MAX_PAGE_SIZE: u64 = 500;
pub(crate) const DEFAULT_PAGE_SIZE: u64 = 20;

/// An out-of-range paging parameter. The Alidns pages name no error code for it; Alibaba's
/// API gateway answers a value outside a parameter's documented range with 400
/// `InvalidParameter` "The specified parameter \"PageSize\" is not valid." (seen from RDS when
/// it capped PageSize, zhuchao941/canal2sql issue #5). Strictest plausible: refuse rather than
/// clamp, so a client asking for more than a page holds is caught.
pub(crate) fn paging_invalid(name: &str) -> ApiError {
    err(
        400,
        "InvalidParameter",
        format!("The specified parameter \"{name}\" is not valid."),
    )
}

/// `(PageNumber, PageSize)` of a listing whose PageSize is at most `max`: both from 1, the
/// page size defaults to 20.
pub(crate) fn paging(p: &Params, max: u64) -> Result<(u64, u64), ApiError> {
    let page_number = p.u64_or("PageNumber", 1)?;
    if page_number == 0 {
        return Err(paging_invalid("PageNumber"));
    }
    let page_size = p.u64_or("PageSize", DEFAULT_PAGE_SIZE)?;
    if !(1..=max).contains(&page_size) {
        return Err(paging_invalid("PageSize"));
    }
    Ok((page_number, page_size))
}

/// The remark rule of the Alidns remark family, in its strictest documented form: at most 50
/// characters of digits, letters, Chinese and `.` `_` `-`. Sources: UpdateDnsCacheDomainRemark
/// (alibabacloud-alidns20150109 4.6.1 models/_update_dns_cache_domain_remark_request.py: "up to
/// 50 characters in length and can contain Chinese characters, letters, digits, periods (.),
/// underscores (_), and hyphens (-)"); UpdateDomainRemark (models/_update_domain_remark_request.py)
/// and pvtz UpdateRecordRemark (https://help.aliyun.com/zh/dns/api-pvtz-2018-01-01-updaterecordremark)
/// also allow `,` `，` `。`. UpdateDomainRecordRemark's own page states no rule: it is held to
/// the strictest one.
pub(crate) fn valid_remark(remark: &str) -> bool {
    remark.chars().count() <= 50
        && remark.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '.' | '_' | '-')
                || ('\u{4e00}'..='\u{9fff}').contains(&c)
        })
}

/// The one error code the family documents for a bad remark (pvtz UpdateRecordRemark, page
/// above: HTTP 400 `Zone.Remark` with this message); Alidns documents none of its own.
pub(crate) fn invalid_remark() -> ApiError {
    err(
        400,
        "Zone.Remark",
        "50 characters long. It can only contain numbers,Chinese,English and special characters: _ - , . ，。",
    )
}

pub(crate) fn page_bounds(total: usize, page_number: u64, page_size: u64) -> (usize, usize) {
    let start = (page_number.max(1) - 1)
        .saturating_mul(page_size)
        .min(usize::MAX as u64) as usize;
    let start = start.min(total);
    let end = (start + page_size as usize).min(total);
    (start, end)
}

pub(crate) fn zone_json(inner: &Inner, z: &ZoneState) -> Value {
    let count = inner
        .state
        .records
        .iter()
        .filter(|r| r.domain_name == z.name)
        .count();
    json!({
        "DomainId": z.domain_id,
        "DomainName": z.name,
        "PunyCode": z.name,
        "AliDomain": false,
        "RecordCount": count,
        "RegistrantEmail": "",
        "Remark": "",
        "GroupId": "",
        "GroupName": "",
        "InstanceId": "",
        "InstanceEndTime": "",
        "InstanceExpired": false,
        "VersionCode": "mianfei",
        "VersionName": "Alibaba Cloud DNS",
        "Starmark": false,
        "CreateTime": "2024-01-01T00:00Z",
        "CreateTimestamp": 1_704_067_200_000i64,
        "ResourceGroupId": RESOURCE_GROUP,
        "DnsServers": {"DnsServer": z.dns_servers},
        "Tags": {"Tag": []},
    })
}

pub(crate) fn record_json(r: &DnsRecord) -> Value {
    let mut v = json!({
        "RecordId": r.record_id,
        "RR": r.rr,
        "Type": r.record_type,
        "Value": r.value,
        "TTL": r.ttl,
        "DomainName": r.domain_name,
        "Status": r.status,
        "Line": r.line,
        "Locked": false,
        "Weight": 1,
        "CreateTimestamp": r.created_ms,
        "UpdateTimestamp": r.updated_ms,
    });
    if let Some(p) = r.priority {
        v["Priority"] = json!(p);
    }
    if let Some(rem) = &r.remark {
        v["Remark"] = json!(rem);
    }
    v
}

pub(crate) fn records_page(
    records: Vec<&DnsRecord>,
    p: &Params,
    max: u64,
) -> Result<Value, ApiError> {
    let (page_number, page_size) = paging(p, max)?;
    let (s, e) = page_bounds(records.len(), page_number, page_size);
    Ok(json!({
        "TotalCount": records.len(),
        "PageNumber": page_number,
        "PageSize": page_size,
        "DomainRecords": {"Record": records[s..e].iter().map(|r| record_json(r)).collect::<Vec<_>>()},
    }))
}

/// A CAA Value as Alidns takes it: `<flag> <tag> "<value>"`. Source: Alibaba Cloud DNS help
/// "Configure CAA records to specify an authority to issue HTTPS security certificates"
/// (alibabacloud.com/help/en/dns/pubz-configure-caa-records-…): "[flag] [tag] [value]",
/// "flag: An unsigned integer from 0 to 255", the tags issue, issuewild and iodef, and every
/// example value quoted (`0 issue "symantec.com"`). The page is silent on other tags (RFC 8659
/// also has contactemail, …) and on unquoted values: both refused here, the strictest reading.
pub(crate) fn validate_caa_value(value: &str) -> Result<(String, String), ApiError> {
    let bad = || {
        err(
            400,
            "InvalidParameter.Value",
            "The CAA record value must be [flag] [tag] \"[value]\", e.g. 0 issue \"ca.com\".",
        )
    };
    let mut parts = value.trim().splitn(3, ' ');
    let flag = parts.next().ok_or_else(bad)?;
    let tag = parts.next().ok_or_else(bad)?;
    let quoted = parts.next().ok_or_else(bad)?;
    flag.parse::<u8>().map_err(|_| bad())?;
    if !matches!(tag, "issue" | "issuewild" | "iodef") {
        return Err(bad());
    }
    let inner = quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .filter(|q| !q.contains('"'))
        .ok_or_else(bad)?;
    Ok((tag.to_string(), inner.to_string()))
}

pub(crate) fn validate_rr(rr: &str) -> Result<String, ApiError> {
    let rr = rr.trim().to_ascii_lowercase();
    let ok = !rr.is_empty()
        && (rr == "@"
            || rr.split('.').all(|l| {
                !l.is_empty()
                    && (l == "*"
                        || l.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
            }));
    if ok {
        Ok(rr)
    } else {
        Err(err(
            400,
            "InvalidRR.Format",
            "The parameter value RR is invalid.",
        ))
    }
}

pub(crate) fn validate_type(t: &str) -> Result<String, ApiError> {
    let t = t.trim().to_ascii_uppercase();
    if RECORD_TYPES.contains(&t.as_str()) {
        Ok(t)
    } else {
        Err(err(
            400,
            "InvalidParameter.Type",
            "The specified record type is not supported.",
        ))
    }
}

pub(crate) fn same_value(t: &str, a: &str, b: &str) -> bool {
    if t == "TXT" {
        a == b
    } else {
        a.trim_end_matches('.')
            .eq_ignore_ascii_case(b.trim_end_matches('.'))
    }
}

pub(crate) fn check_new_record(
    inner: &Inner,
    zone: &str,
    rr: &str,
    t: &str,
    value: &str,
    line: &str,
    except_id: Option<&str>,
) -> Result<(), ApiError> {
    for r in inner.state.records.iter().filter(|r| {
        r.domain_name == zone
            && r.rr == rr
            && r.line == line
            && Some(r.record_id.as_str()) != except_id
    }) {
        if r.record_type == t && same_value(t, &r.value, value) {
            return Err(err(
                400,
                "DomainRecordDuplicate",
                "The DNS record already exists.",
            ));
        }
        if (t == "CNAME") != (r.record_type == "CNAME") && !matches!(r.record_type.as_str(), "NS") {
            return Err(err(
                400,
                "DomainRecordConflict",
                "The DNS record conflicts with other records.",
            ));
        }
    }
    Ok(())
}
