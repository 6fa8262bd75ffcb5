//! Alidns 2015-01-09 (RPC): zones, records, and the TXT push to pebble-challtestsrv.
use super::*;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(from = "ZoneRepr")]
pub struct Zone {
    pub name: String,
    /// Defaults to dns1/dns2.hichina.com.
    pub dns_servers: Vec<String>,
    /// Records present from the start (not counted in `records_added`).
    pub records: Vec<SeedRecord>,
}

#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum ZoneRepr {
    Name(String),
    Full(ZoneFull),
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct ZoneFull {
    pub(crate) name: String,
    pub(crate) dns_servers: Vec<String>,
    pub(crate) records: Vec<SeedRecord>,
}

impl From<ZoneRepr> for Zone {
    fn from(r: ZoneRepr) -> Self {
        match r {
            ZoneRepr::Name(name) => Zone {
                name,
                ..Zone::default()
            },
            ZoneRepr::Full(f) => Zone {
                name: f.name,
                dns_servers: f.dns_servers,
                records: f.records,
            },
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SeedRecord {
    pub rr: String,
    /// Defaults to TXT.
    #[serde(rename = "type")]
    pub record_type: String,
    pub value: String,
    pub ttl: Option<u64>,
    pub remark: Option<String>,
}

impl Seed {
    pub fn zone(mut self, name: &str) -> Self {
        self.zones.push(Zone {
            name: name.into(),
            ..Zone::default()
        });
        self
    }
    pub fn challtestsrv(mut self, url: &str) -> Self {
        self.challtestsrv = Some(url.into());
        self
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ZoneState {
    pub name: String,
    pub domain_id: String,
    pub dns_servers: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DnsRecord {
    /// Decimal string, like Alidns.
    pub record_id: String,
    /// The zone (`DomainName`).
    pub domain_name: String,
    /// Host record, lower case; `@` for the apex.
    pub rr: String,
    #[serde(rename = "type")]
    pub record_type: String,
    pub value: String,
    pub ttl: u64,
    pub line: String,
    pub priority: Option<u64>,
    pub status: String,
    pub remark: Option<String>,
    /// AccessKeyId that added it (None: seeded).
    pub created_by: Option<String>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

impl DnsRecord {
    /// Full name without trailing dot, lower case.
    pub fn fqdn(&self) -> String {
        if self.rr == "@" {
            self.domain_name.clone()
        } else {
            format!("{}.{}", self.rr, self.domain_name)
        }
    }
}

impl EmulatorState {
    /// TXT records present now.
    pub fn txt_records(&self) -> Vec<&DnsRecord> {
        self.records
            .iter()
            .filter(|r| r.record_type == "TXT")
            .collect()
    }
    /// Values of the TXT records present now at `fqdn` (trailing dot optional).
    pub fn txt_values(&self, fqdn: &str) -> Vec<String> {
        let want = normalize_name(fqdn);
        self.txt_records()
            .into_iter()
            .filter(|r| r.fqdn() == want)
            .map(|r| r.value.clone())
            .collect()
    }
    pub fn record(&self, record_id: &str) -> Option<&DnsRecord> {
        self.records.iter().find(|r| r.record_id == record_id)
    }
}

impl Inner {
    pub(crate) fn txt_values_at(&self, host: &str) -> Vec<String> {
        self.state
            .records
            .iter()
            .filter(|r| r.record_type == "TXT" && r.status == "ENABLE" && r.fqdn() == host)
            .map(|r| r.value.clone())
            .collect()
    }

    pub(crate) fn all_txt_resyncs(&self) -> Vec<TxtSync> {
        let hosts: HashSet<String> = self
            .state
            .records
            .iter()
            .filter(|r| r.record_type == "TXT")
            .map(|r| r.fqdn())
            .collect();
        hosts
            .into_iter()
            .map(|h| TxtSync::Resync {
                values: self.txt_values_at(&h),
                host: h,
            })
            .collect()
    }

    pub(crate) fn zone(&self, name: &str) -> Option<&ZoneState> {
        let n = normalize_name(name);
        self.state.zones.iter().find(|z| z.name == n)
    }

    /// The seeded zone `fqdn` belongs to (longest suffix) and the RR within it.
    pub(crate) fn zone_of(&self, fqdn: &str) -> Option<(String, String)> {
        let n = normalize_name(fqdn);
        self.state
            .zones
            .iter()
            .filter(|z| n == z.name || n.ends_with(&format!(".{}", z.name)))
            .max_by_key(|z| z.name.len())
            .map(|z| {
                let rr = if n == z.name {
                    "@".to_string()
                } else {
                    n[..n.len() - z.name.len() - 1].to_string()
                };
                (z.name.clone(), rr)
            })
    }
}

pub(crate) fn seed_zones(inner: &mut Inner, seed: &Seed) {
    let now = now_ms();
    for z in &seed.zones {
        let name = normalize_name(&z.name);
        let dns_servers = if z.dns_servers.is_empty() {
            DEFAULT_DNS_SERVERS.iter().map(|s| s.to_string()).collect()
        } else {
            z.dns_servers.clone()
        };
        inner.state.zones.push(ZoneState {
            domain_id: uuid_like(),
            name: name.clone(),
            dns_servers,
        });
        for r in &z.records {
            let id = inner.next_record_id();
            let rt = if r.record_type.is_empty() {
                "TXT".to_string()
            } else {
                r.record_type.to_ascii_uppercase()
            };
            inner.state.records.push(DnsRecord {
                record_id: id,
                domain_name: name.clone(),
                rr: if r.rr.is_empty() {
                    "@".into()
                } else {
                    r.rr.to_ascii_lowercase()
                },
                record_type: rt,
                value: r.value.clone(),
                ttl: r.ttl.unwrap_or(600),
                line: "default".into(),
                priority: None,
                status: "ENABLE".into(),
                remark: r.remark.clone(),
                created_by: None,
                created_ms: now,
                updated_ms: now,
            });
        }
    }
}

pub(crate) enum TxtSync {
    /// `set-txt` one more value.
    Add { host: String, value: String },
    /// `clear-txt`, then `set-txt` each of `values`.
    Resync { host: String, values: Vec<String> },
}

pub(crate) async fn push_txt(shared: &Arc<Shared>, syncs: Vec<TxtSync>) {
    if syncs.is_empty() {
        return;
    }
    let Some(base) = shared.lock().challtestsrv.clone() else {
        return;
    };
    let post = |path: &'static str, body: Value| {
        let url = format!("{base}{path}");
        let http = shared.http.clone();
        async move {
            let r = http.post(&url).json(&body).send().await;
            match r {
                Ok(resp) if resp.status().is_success() => Ok(()),
                Ok(resp) => Err(format!("{url} {body}: HTTP {}", resp.status())),
                Err(e) => Err(format!("{url} {body}: {e}")),
            }
        }
    };
    let mut errors = Vec::new();
    for s in syncs {
        match s {
            TxtSync::Add { host, value } => {
                if let Err(e) = post(
                    "/set-txt",
                    json!({"host": format!("{host}."), "value": value}),
                )
                .await
                {
                    errors.push(e);
                }
            }
            TxtSync::Resync { host, values } => {
                let h = format!("{host}.");
                if let Err(e) = post("/clear-txt", json!({ "host": h })).await {
                    errors.push(e);
                }
                for v in values {
                    if let Err(e) = post("/set-txt", json!({"host": h, "value": v})).await {
                        errors.push(e);
                    }
                }
            }
        }
    }
    if !errors.is_empty() {
        for e in &errors {
            eprintln!("emulator: challtestsrv push failed: {e}");
        }
        shared.lock().state.dns_push_errors.extend(errors);
    }
}
// ---------------------------------------------------------------------------------------------
// Alidns 2015-01-09
// ---------------------------------------------------------------------------------------------

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

pub(crate) fn alidns(
    inner: &mut Inner,
    action: &str,
    p: &Params,
    ctx: &Ctx,
) -> Result<(Value, Vec<TxtSync>), ApiError> {
    let mut syncs = Vec::new();
    let v = match action {
        "DescribeDomains" => {
            let (page_number, page_size) = paging(p, DESCRIBE_DOMAINS_MAX_PAGE_SIZE)?;
            let kw = p.get("KeyWord").map(|k| k.to_ascii_lowercase());
            let exact = p
                .get("SearchMode")
                .is_some_and(|m| m.eq_ignore_ascii_case("EXACT"));
            let zones: Vec<&ZoneState> = inner
                .state
                .zones
                .iter()
                .filter(|z| match &kw {
                    None => true,
                    Some(k) if exact => &z.name == k,
                    Some(k) => z.name.contains(k.as_str()),
                })
                .collect();
            let (s, e) = page_bounds(zones.len(), page_number, page_size);
            json!({
                "TotalCount": zones.len(),
                "PageNumber": page_number,
                "PageSize": page_size,
                "Domains": {"Domain": zones[s..e].iter().map(|z| zone_json(inner, z)).collect::<Vec<_>>()},
            })
        }
        "DescribeDomainInfo" => {
            let z = inner.zone(p.req("DomainName")?).ok_or_else(no_such_zone)?;
            let mut v = zone_json(inner, z);
            let m = v.as_object_mut().expect("object");
            m.insert("MinTtl".into(), json!(600));
            m.insert(
                "AvailableTtls".into(),
                json!({"AvailableTtl": ["600", "1800", "3600", "43200", "86400"]}),
            );
            m.insert("LineType".into(), json!("domestic"));
            m.insert(
                "RecordLines".into(),
                json!({"RecordLine": [{"LineCode": "default", "LineName": "默认", "LineDisplayName": "默认", "FatherCode": ""}]}),
            );
            m.insert("InBlackHole".into(), json!(false));
            m.insert("InClean".into(), json!(false));
            m.insert("SubDomain".into(), json!(false));
            m.insert("SlaveDns".into(), json!(false));
            v
        }
        "DescribeDomainNs" => {
            let z = inner.zone(p.req("DomainName")?).ok_or_else(no_such_zone)?;
            json!({
                "AllAliDns": true,
                "IncludeAliDns": true,
                "DnsServers": {"DnsServer": z.dns_servers},
                "ExpectDnsServers": {"ExpectDnsServer": z.dns_servers},
            })
        }
        "GetMainDomainName" => {
            let input = normalize_name(p.req("InputString")?);
            let input = input.trim_start_matches("*.").to_string();
            let (zone, rr) = match inner.zone_of(&input) {
                Some(x) => x,
                None => {
                    let labels: Vec<&str> = input.split('.').collect();
                    if labels.len() < 2 || labels.iter().any(|l| l.is_empty()) {
                        return Err(err(
                            400,
                            "InvalidDomainName.Format",
                            "The format of the specified domain name is invalid.",
                        ));
                    }
                    let zone = labels[labels.len() - 2..].join(".");
                    let rr = if labels.len() == 2 {
                        "@".to_string()
                    } else {
                        labels[..labels.len() - 2].join(".")
                    };
                    (zone, rr)
                }
            };
            let level = if rr == "@" {
                1
            } else {
                rr.split('.').count() + 1
            };
            json!({"DomainName": zone, "RR": rr, "DomainLevel": level})
        }
        "AddDomainRecord" => {
            let zone = inner
                .zone(p.req("DomainName")?)
                .ok_or_else(no_such_zone)?
                .name
                .clone();
            let rr = validate_rr(p.req("RR")?)?;
            let t = validate_type(p.req("Type")?)?;
            let value = p.req("Value")?.to_string();
            let ttl = p.u64_or("TTL", 600)?;
            if !(1..=86400).contains(&ttl) {
                return Err(invalid("TTL", "must be between 1 and 86400"));
            }
            let line = p.get("Line").unwrap_or("default").to_string();
            let priority = if t == "MX" {
                Some(p.u64_or("Priority", 5)?)
            } else {
                None
            };
            check_new_record(inner, &zone, &rr, &t, &value, &line, None)?;
            // AddDomainRecord takes no Remark (alibabacloud-alidns20150109 4.6.1
            // models/_add_domain_record_request.py: DomainName, Lang, Line, Priority, RR, TTL,
            // Type, UserClientIp, Value); like any parameter the API does not define, one sent
            // anyway is ignored: the record starts without a remark.
            let id = inner.next_record_id();
            let now = now_ms();
            let rec = DnsRecord {
                record_id: id.clone(),
                domain_name: zone,
                rr,
                record_type: t.clone(),
                value: value.clone(),
                ttl,
                line,
                priority,
                status: "ENABLE".into(),
                remark: None,
                created_by: Some(ctx.ak.to_string()),
                created_ms: now,
                updated_ms: now,
            };
            if t == "TXT" {
                syncs.push(TxtSync::Add {
                    host: rec.fqdn(),
                    value,
                });
            }
            inner.state.records.push(rec.clone());
            inner.state.records_added.push(rec);
            json!({ "RecordId": id })
        }
        "DeleteDomainRecord" => {
            let id = p.req("RecordId")?;
            let idx = inner
                .state
                .records
                .iter()
                .position(|r| r.record_id == id)
                .ok_or_else(record_not_found)?;
            let rec = inner.state.records.remove(idx);
            if rec.record_type == "TXT" {
                let host = rec.fqdn();
                syncs.push(TxtSync::Resync {
                    values: inner.txt_values_at(&host),
                    host,
                });
            }
            inner.state.records_deleted.push(rec);
            json!({ "RecordId": id })
        }
        "DeleteSubDomainRecords" => {
            let zone = inner
                .zone(p.req("DomainName")?)
                .ok_or_else(no_such_zone)?
                .name
                .clone();
            let rr = validate_rr(p.req("RR")?)?;
            let t = p.get("Type").map(|t| t.to_ascii_uppercase());
            let (gone, kept): (Vec<DnsRecord>, Vec<DnsRecord>) =
                std::mem::take(&mut inner.state.records)
                    .into_iter()
                    .partition(|r| {
                        r.domain_name == zone
                            && r.rr == rr
                            && t.as_ref().none_or(|t| &r.record_type == t)
                    });
            inner.state.records = kept;
            let hosts: HashSet<String> = gone
                .iter()
                .filter(|r| r.record_type == "TXT")
                .map(|r| r.fqdn())
                .collect();
            for host in hosts {
                syncs.push(TxtSync::Resync {
                    values: inner.txt_values_at(&host),
                    host,
                });
            }
            let n = gone.len();
            inner.state.records_deleted.extend(gone);
            json!({"RR": rr, "TotalCount": n})
        }
        "UpdateDomainRecord" => {
            let id = p.req("RecordId")?.to_string();
            let rr = validate_rr(p.req("RR")?)?;
            let t = validate_type(p.req("Type")?)?;
            let value = p.req("Value")?.to_string();
            let idx = inner
                .state
                .records
                .iter()
                .position(|r| r.record_id == id)
                .ok_or_else(record_not_found)?;
            let old = inner.state.records[idx].clone();
            let line = p.get("Line").unwrap_or(&old.line).to_string();
            let ttl = p.u64_or("TTL", old.ttl)?;
            if old.rr == rr
                && old.record_type == t
                && old.value == value
                && old.line == line
                && old.ttl == ttl
            {
                return Err(err(
                    400,
                    "DomainRecordDuplicate",
                    "The DNS record already exists.",
                ));
            }
            check_new_record(inner, &old.domain_name, &rr, &t, &value, &line, Some(&id))?;
            let rec = &mut inner.state.records[idx];
            rec.rr = rr;
            rec.record_type = t;
            rec.value = value;
            rec.line = line;
            rec.ttl = ttl;
            rec.updated_ms = now_ms();
            let new = rec.clone();
            let mut hosts = HashSet::new();
            if old.record_type == "TXT" {
                hosts.insert(old.fqdn());
            }
            if new.record_type == "TXT" {
                hosts.insert(new.fqdn());
            }
            for host in hosts {
                syncs.push(TxtSync::Resync {
                    values: inner.txt_values_at(&host),
                    host,
                });
            }
            json!({ "RecordId": id })
        }
        "UpdateDomainRecordRemark" => {
            let id = p.req("RecordId")?;
            // An empty Remark deletes the remark (models/_update_domain_record_remark_request.py).
            let remark = p.get("Remark").map(|s| s.to_string());
            if remark.as_deref().is_some_and(|r| !valid_remark(r)) {
                return Err(invalid_remark());
            }
            let rec = inner
                .state
                .records
                .iter_mut()
                .find(|r| r.record_id == id)
                .ok_or_else(record_not_found)?;
            rec.remark = remark;
            rec.updated_ms = now_ms();
            json!({})
        }
        "DescribeDomainRecords" => {
            let zone = inner
                .zone(p.req("DomainName")?)
                .ok_or_else(no_such_zone)?
                .name
                .clone();
            let exact = p
                .get("SearchMode")
                .is_some_and(|m| m.eq_ignore_ascii_case("EXACT"));
            let m = |have: &str, want: &str| {
                let (h, w) = (have.to_ascii_lowercase(), want.to_ascii_lowercase());
                if exact {
                    h == w
                } else {
                    h.contains(&w)
                }
            };
            let records: Vec<&DnsRecord> = inner
                .state
                .records
                .iter()
                .filter(|r| r.domain_name == zone)
                .filter(|r| p.get("RRKeyWord").none_or(|k| m(&r.rr, k)))
                .filter(|r| {
                    p.get("TypeKeyWord")
                        .none_or(|k| r.record_type.eq_ignore_ascii_case(k))
                })
                .filter(|r| {
                    p.get("Type")
                        .none_or(|k| r.record_type.eq_ignore_ascii_case(k))
                })
                .filter(|r| p.get("ValueKeyWord").none_or(|k| m(&r.value, k)))
                .filter(|r| p.get("KeyWord").none_or(|k| m(&r.rr, k) || m(&r.value, k)))
                .filter(|r| p.get("Line").none_or(|l| r.line == l))
                .filter(|r| {
                    p.get("Status")
                        .none_or(|s| r.status.eq_ignore_ascii_case(s))
                })
                .collect();
            records_page(records, p, DESCRIBE_DOMAIN_RECORDS_MAX_PAGE_SIZE)?
        }
        "DescribeSubDomainRecords" => {
            let sub = normalize_name(p.req("SubDomain")?);
            let target = match p.get("DomainName") {
                Some(d) => {
                    let z = inner.zone(d).ok_or_else(no_such_zone)?.name.clone();
                    if sub == z {
                        Some((z, "@".to_string()))
                    } else {
                        sub.strip_suffix(&format!(".{z}"))
                            .map(|rr| (z.clone(), rr.to_string()))
                    }
                }
                None => inner.zone_of(&sub),
            };
            let t = p.get("Type").map(|t| t.to_ascii_uppercase());
            let records: Vec<&DnsRecord> = match &target {
                None => vec![],
                Some((zone, rr)) => inner
                    .state
                    .records
                    .iter()
                    .filter(|r| &r.domain_name == zone && &r.rr == rr)
                    .filter(|r| t.as_ref().none_or(|t| &r.record_type == t))
                    .filter(|r| p.get("Line").none_or(|l| r.line == l))
                    .collect(),
            };
            records_page(records, p, DESCRIBE_SUB_DOMAIN_RECORDS_MAX_PAGE_SIZE)?
        }
        _ => return Err(unknown_action()),
    };
    Ok((v, syncs))
}
