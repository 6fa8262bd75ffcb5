//! The Alidns 2015-01-09 actions (one `match` on the Action).
use super::*;

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
                .filter(|z| inner.zone_owner(&z.name) == ctx.account)
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
        // alibabacloud-alidns20150109 DescribeDomainNsResponseBody: DnsServers (what the
        // registry delegates to), ExpectDnsServers (Alidns's for the zone), AllAliDns (all of
        // them Alidns's), IncludeAliDns (some).
        "DescribeDomainNs" => {
            let z = inner.zone(p.req("DomainName")?).ok_or_else(no_such_zone)?;
            let serving = match z.delegated_to.is_empty() {
                true => z.dns_servers.clone(),
                false => z.delegated_to.clone(),
            };
            let ours = |s: &String| z.dns_servers.contains(s);
            json!({
                "AllAliDns": serving.iter().all(ours),
                "IncludeAliDns": serving.iter().any(ours),
                "DnsServers": {"DnsServer": serving},
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
            let zone = zone_named(inner, p)?;
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
            if t == "CAA" {
                validate_caa_value(&value)?;
            }
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
            let caa_host = (t == "CAA").then(|| rec.fqdn());
            if t == "TXT" {
                syncs.push(TxtSync::Add {
                    host: rec.fqdn(),
                    value,
                });
            }
            inner.state.records.push(rec.clone());
            if let Some(host) = caa_host {
                syncs.push(inner.caa_sync(host));
            }
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
            if rec.record_type == "CAA" {
                syncs.push(inner.caa_sync(rec.fqdn()));
            }
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
            let zone = zone_named(inner, p)?;
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
            let caa_hosts: HashSet<String> = gone
                .iter()
                .filter(|r| r.record_type == "CAA")
                .map(|r| r.fqdn())
                .collect();
            for host in caa_hosts {
                syncs.push(inner.caa_sync(host));
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
            if t == "CAA" {
                validate_caa_value(&value)?;
            }
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
            for r in [&old, &new].into_iter().filter(|r| r.record_type == "CAA") {
                syncs.push(inner.caa_sync(r.fqdn()));
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
            let zone = zone_named(inner, p)?;
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

/// The name of the zone the request's `DomainName` names (`InvalidDomainName.NoExist` if none).
fn zone_named(inner: &Inner, p: &Params) -> Result<String, ApiError> {
    Ok(inner
        .zone(p.req("DomainName")?)
        .ok_or_else(no_such_zone)?
        .name
        .clone())
}
