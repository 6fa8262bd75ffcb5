//! CloudMonitor 2019-01-01 (RPC), PutCustomMetric only. Source: PyPI alibabacloud-cms20190101
//! 4.0.10, client.py `put_custom_metric_with_options` (RPC, POST, `MetricList` flattened into
//! the query) and models/_put_custom_metric_request.py / _put_custom_metric_response_body.py.
//! Enforced as documented: 1 to 21 entries (`MetricList.N`, N = 1..21); MetricName, GroupId,
//! Type (0 raw | 1 aggregate), Dimensions (a JSON object string; keys and values 1 to 64
//! characters of letters, digits, `. - _ / \`, longer ones cut at 64) and Values (a JSON object string) required;
//! Period (60 | 300) required for Type 1; Time a UTC time or unix milliseconds. The docs give
//! no metric name rule or error codes: names are held to 1-64 letters, digits, `_ . -` and
//! the codes are the strictest plausible. The answer is `{"Code":"200", ...}`.
use super::*;

/// One data point PutCustomMetric accepted.
#[derive(Debug, Clone, Serialize)]
pub struct CustomMetric {
    pub metric_name: String,
    pub group_id: String,
    pub dimensions: BTreeMap<String, String>,
    pub values: Value,
    pub time: Option<String>,
    pub metric_type: String,
    pub region: String,
}

fn bad(message: String) -> ApiError {
    err(400, "InvalidParameter", message)
}

/// Non-empty, of the documented characters (length is not checked: CloudMonitor cuts a key or
/// value after 64 characters).
fn dimension_ok(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | '\\'))
}

fn entry(p: &Params, n: usize, region: &str) -> Result<CustomMetric, ApiError> {
    let key = |k: &str| format!("MetricList.{n}.{k}");
    let name = p.req(&key("MetricName"))?;
    if !(1..=64).contains(&name.len())
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        return Err(bad(format!(
            "{}: not a valid metric name",
            key("MetricName")
        )));
    }
    let group_id = p.req(&key("GroupId"))?;
    let metric_type = p.req(&key("Type"))?;
    match metric_type {
        "0" => {}
        "1" if matches!(p.get(&key("Period")), Some("60" | "300")) => {}
        "1" => {
            return Err(bad(format!(
                "{}: 60 or 300 for aggregate data",
                key("Period")
            )))
        }
        _ => return Err(bad(format!("{}: 0 or 1", key("Type")))),
    }
    let dimensions: BTreeMap<String, String> = serde_json::from_str(p.req(&key("Dimensions"))?)
        .map_err(|_| bad(format!("{}: a JSON object of strings", key("Dimensions"))))?;
    let cut = |s: &String| s.chars().take(64).collect::<String>();
    if dimensions.is_empty()
        || !dimensions
            .iter()
            .all(|(k, v)| dimension_ok(k) && dimension_ok(v))
    {
        return Err(bad(format!(
            "{}: keys and values of A-Z a-z 0-9 . - _ / \\",
            key("Dimensions")
        )));
    }
    let dimensions = dimensions.iter().map(|(k, v)| (cut(k), cut(v))).collect();
    let values: Value = serde_json::from_str(p.req(&key("Values"))?)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| {
            bad(format!(
                "{}: a JSON object such as {{\"value\":1}}",
                key("Values")
            ))
        })?;
    let time = p.get(&key("Time"));
    if let Some(t) = time {
        let ms = t.chars().all(|c| c.is_ascii_digit());
        if !ms && !t.contains('T') {
            return Err(bad(format!(
                "{}: a UTC time or unix milliseconds",
                key("Time")
            )));
        }
    }
    Ok(CustomMetric {
        metric_name: name.into(),
        group_id: group_id.into(),
        dimensions,
        values,
        time: time.map(String::from),
        metric_type: metric_type.into(),
        region: region.into(),
    })
}

pub(crate) fn cms(
    inner: &mut Inner,
    action: &str,
    p: &Params,
    ctx: &Ctx,
) -> Result<Value, ApiError> {
    if action != "PutCustomMetric" {
        return Err(unknown_action());
    }
    if p.get("MetricList.22.MetricName").is_some() {
        return Err(bad("MetricList: at most 21 entries".into()));
    }
    let mut entries = Vec::new();
    for n in 1..=21 {
        if p.get(&format!("MetricList.{n}.MetricName")).is_none() {
            break;
        }
        entries.push(entry(p, n, ctx.region)?);
    }
    if entries.is_empty() {
        return Err(missing("MetricList.1.MetricName"));
    }
    inner.state.custom_metrics.extend(entries);
    Ok(json!({ "Code": "200", "Message": "" }))
}
