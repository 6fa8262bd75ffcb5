//! `[metrics]`: CloudMonitor custom metrics after each run, with the documented names, sent to
//! the emulated CloudMonitor; and the emulator's PutCustomMetric rules (from the SDK model)
//! refusing what the real service refuses.
mod support;
use alicert::aliyun::Product;
use support::emulator::{self, Seed};
use support::scenario::Scenario;

#[tokio::test]
async fn metrics_per_certificate_after_each_run() {
    let rig = Scenario::www_on_cdn().config("[metrics]\n").start().await;
    let out = rig.invoke("{}").await;
    out.expect_exit(0);
    let state = rig.emulator.state();
    let metric = |name: &str| {
        state
            .custom_metrics
            .iter()
            .find(|m| m.metric_name == name)
            .unwrap_or_else(|| panic!("no {name}: {:?}", state.custom_metrics))
            .clone()
    };
    let days = metric("alicert_days_to_expiry");
    assert_eq!(
        days.dimensions.get("certificate").map(String::as_str),
        Some("www")
    );
    assert_eq!(days.group_id, "0");
    assert_eq!(days.metric_type, "0");
    // The value is the certificate's days left, as the run reported its not-after.
    let not_after = time::OffsetDateTime::parse(
        out.result.certificate("www").not_after(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let expected = (not_after - time::OffsetDateTime::now_utc()).whole_days();
    let got = days.values["value"].as_i64().unwrap();
    assert!((got - expected).abs() <= 1, "{got} vs {expected}");
    assert_eq!(metric("alicert_last_run_ok").values["value"], 1);
    assert_eq!(metric("alicert_targets_drifted").values["value"], 0);

    // A failed certificate reports 0.
    rig.emulator
        .fail_next("DescribeDomainCertificateInfo", "Forbidden.RAM", 403);
    rig.invoke("{}").await.expect_exit(1);
    let state = rig.emulator.state();
    let last = state
        .custom_metrics
        .iter()
        .rev()
        .find(|m| m.metric_name == "alicert_last_run_ok")
        .unwrap();
    assert_eq!(last.values["value"], 0);
}

#[tokio::test]
async fn emulated_put_custom_metric_enforces_the_model() {
    let emu = emulator::start(Seed::default().access_key("AK1", "secret1")).await;
    let client = emu.client("AK1", "secret1", None);
    let entry = |n: usize, name: &str, ty: &str, dims: &str| {
        vec![
            (format!("MetricList.{n}.MetricName"), name.to_string()),
            (format!("MetricList.{n}.Dimensions"), dims.to_string()),
            (format!("MetricList.{n}.GroupId"), "0".to_string()),
            (format!("MetricList.{n}.Type"), ty.to_string()),
            (
                format!("MetricList.{n}.Values"),
                r#"{"value":1}"#.to_string(),
            ),
        ]
    };
    let call = |params: Vec<(String, String)>| {
        let client = client.clone();
        async move {
            let p: Vec<(&str, &str)> = params
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            client.rpc(Product::Cms, "PutCustomMetric", &p).await
        }
    };
    let ok = call(entry(1, "m1", "0", r#"{"certificate":"www"}"#))
        .await
        .unwrap();
    assert_eq!(ok["Code"], "200");
    let code = |r: alicert::error::Result<serde_json::Value>| match r {
        Err(alicert::error::Error::Aliyun { code, .. }) => code,
        other => panic!("expected a refusal, got {other:?}"),
    };
    // 22 entries: more than the documented 21.
    let many: Vec<_> = (1..=22)
        .flat_map(|n| entry(n, "m", "0", r#"{"a":"b"}"#))
        .collect();
    assert_eq!(code(call(many).await), "InvalidParameter");
    // Type 1 (aggregate) needs Period 60 or 300; Type must be 0 or 1.
    assert_eq!(
        code(call(entry(1, "m", "1", r#"{"a":"b"}"#)).await),
        "InvalidParameter"
    );
    assert_eq!(
        code(call(entry(1, "m", "2", r#"{"a":"b"}"#)).await),
        "InvalidParameter"
    );
    // Dimensions: a JSON object of the documented characters.
    assert_eq!(
        code(call(entry(1, "m", "0", "not json")).await),
        "InvalidParameter"
    );
    assert_eq!(
        code(call(entry(1, "m", "0", r#"{"a":"b c"}"#)).await),
        "InvalidParameter"
    );
    let mut no_values = entry(1, "m", "0", r#"{"a":"b"}"#);
    no_values.retain(|(k, _)| !k.ends_with("Values"));
    assert_eq!(
        code(call(no_values).await),
        "MissingParameter.MetricList.1.Values"
    );
    // A value over 64 characters is cut, as documented, not refused.
    let long = format!(r#"{{"certificate":"{}"}}"#, "x".repeat(80));
    call(entry(1, "m2", "0", &long)).await.unwrap();
    let kept = emu
        .state()
        .custom_metrics
        .into_iter()
        .find(|m| m.metric_name == "m2")
        .unwrap();
    assert_eq!(kept.dimensions["certificate"].len(), 64);
}
