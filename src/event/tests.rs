use super::*;

#[test]
fn parses_events_and_timer_wrapper() {
    assert_eq!(
        Event::parse(b"").unwrap(),
        Event::Renew(RenewOptions::default())
    );
    assert_eq!(
        Event::parse(b"{}").unwrap(),
        Event::Renew(RenewOptions::default())
    );
    assert_eq!(
        Event::parse(br#"{"action":"renew","certificates":["www"],"force":true,"dry_run":true}"#)
            .unwrap(),
        Event::Renew(RenewOptions {
            certificates: vec!["www".into()],
            force: true,
            dry_run: true,
            on_demand: false,
        })
    );
    assert_eq!(
        Event::parse(br#"{"triggerTime":"2026-01-01T00:00:00Z","triggerName":"t","payload":"{\"action\":\"status\"}"}"#).unwrap(),
        Event::Status(RenewOptions::default())
    );
    assert_eq!(
        Event::parse(br#"{"triggerTime":"x","triggerName":"t","payload":""}"#).unwrap(),
        Event::Renew(RenewOptions::default())
    );
    assert_eq!(
        Event::parse(br#"{"action":"account","op":"deactivate","confirm":true}"#).unwrap(),
        Event::Account {
            op: OpKind::Deactivate,
            email: None,
            confirm: true,
            dry_run: false
        }
    );
    assert_eq!(
        Event::parse(br#"{"action":"revoke","certificate":"www","reason":4}"#).unwrap(),
        Event::Revoke {
            certificate: "www".into(),
            reason: Some(RevokeReason::Superseded),
            dry_run: false,
            replace: true
        }
    );
    assert_eq!(
        Event::parse(br#"{"action":"revoke","certificate":"www","replace":false}"#).unwrap(),
        Event::Revoke {
            certificate: "www".into(),
            reason: None,
            dry_run: false,
            replace: false
        }
    );
}

#[test]
fn issue_names_a_target_set() {
    let named = |body: &[u8]| match Event::parse(body).unwrap() {
        Event::Issue {
            targets, dry_run, ..
        } => (targets, dry_run),
        e => panic!("{e:?}"),
    };
    assert_eq!(
        named(br#"{"action":"issue","domains":["a.example.com"],"target_set":"web"}"#),
        (IssueTargets::Named("web".into()), false)
    );
    assert_eq!(
        named(br#"{"action":"issue","domains":["a.example.com"],"targets":"web","dry_run":true}"#),
        (IssueTargets::Named("web".into()), true)
    );
    let list = serde_json::json!([{"kind": "cdn", "domain": "a.example.com"}]);
    assert_eq!(
        named(
            serde_json::json!({"action": "issue", "domains": ["a.example.com"], "targets": list})
                .to_string()
                .as_bytes()
        ),
        (
            IssueTargets::Listed(list.as_array().unwrap().clone()),
            false
        )
    );
}

#[test]
fn bad_events_name_the_problem() {
    for (body, needle) in [
        (&br#"[1]"#[..], "JSON object"),
        (br#"{"action":"nope"}"#, "unknown action"),
        (br#"{"action":5}"#, "`action`"),
        (br#"{"forse":true}"#, "forse"),
        (br#"{"force":"yes"}"#, "force"),
        (br#"{"#, "not valid JSON"),
        (
            br#"{"triggerTime":"x","triggerName":"t","payload":"{oops"}"#,
            "timer payload",
        ),
        (br#"{"action":"revoke"}"#, "certificate"),
        (
            br#"{"action":"revoke","certificate":"www","reason":-1}"#,
            "reason",
        ),
        (
            br#"{"action":"revoke","certificate":"www","reason":7}"#,
            "event field `reason`: reason 7",
        ),
        (
            br#"{"action":"revoke","certificate":"www","reason":256}"#,
            "reason",
        ),
        (br#"{"action":"account","confirm":"yes"}"#, "confirm"),
        (
            br#"{"action":"account","op":"delete"}"#,
            "event field `op`: unknown variant `delete`",
        ),
        (
            br#"{"action":"revoke","certificate":"www","replace":"no"}"#,
            "replace",
        ),
        // A field of another action is never silently dropped.
        (
            br#"{"action":"status","force":true}"#,
            "`force`: not a field of action `status`",
        ),
        (
            br#"{"action":"revoke","certificate":"www","domains":["a"]}"#,
            "`domains`",
        ),
        (
            br#"{"action":"issue","domains":["a.example.com"]}"#,
            "target_set",
        ),
        (
            br#"{"action":"issue","domains":["a.example.com"],"target_set":"a","targets":"b"}"#,
            "not both",
        ),
        (
            br#"{"action":"issue","domains":["a.example.com"],"targets":5}"#,
            "target set name or a list",
        ),
    ] {
        let e = Event::parse(body).unwrap_err();
        assert!(e.is_user_error());
        assert!(e.to_string().contains(needle), "{e} lacks {needle}");
    }
}

#[test]
fn only_the_exact_timer_shape_is_unwrapped() {
    for (body, needle) in [
        // No payload: once a renew that dropped the action; now an error.
        (
            &br#"{"triggerTime":"x","triggerName":"t","action":"status"}"#[..],
            "timer event field `action`",
        ),
        (
            br#"{"triggerTime":"x","triggerName":"t"}"#,
            "`payload` is missing",
        ),
        (
            br#"{"triggerName":"t","payload":""}"#,
            "`triggerTime` is missing",
        ),
        (
            br#"{"triggerTime":"x","triggerName":"t","payload":{"action":"status"}}"#,
            "`payload` must be a string",
        ),
        (
            br#"{"triggerTime":"x","triggerName":"t","payload":null}"#,
            "`payload` must be a string",
        ),
        (
            br#"{"triggerTime":1,"triggerName":"t","payload":""}"#,
            "`triggerTime` must be a string",
        ),
        (br#"{"payload":"{}"}"#, "`triggerTime` is missing"),
        (
            br#"{"triggerTime":"x","triggerName":"t","payload":"{\"payload\":\"\"}"}"#,
            "inside a timer payload",
        ),
        (
            br#"{"triggerTime":"x","triggerName":"t","payload":"awesome-fc"}"#,
            "timer payload: event is not valid JSON",
        ),
    ] {
        let e = Event::parse(body).unwrap_err();
        assert!(e.is_user_error());
        assert!(e.to_string().contains(needle), "{e} lacks {needle}");
    }
}

#[test]
fn dry_run_reaches_every_kind() {
    for body in [
        &br#"{}"#[..],
        br#"{"action":"status"}"#,
        br#"{"action":"issue","domains":["a.example.com"],"target_set":"w"}"#,
        br#"{"action":"revoke","certificate":"www"}"#,
        br#"{"action":"account","op":"rollover"}"#,
        br#"{"action":"report"}"#,
    ] {
        let mut e = Event::parse(body).unwrap();
        e.set_dry_run();
        let dry = match e {
            Event::Renew(o) | Event::Status(o) | Event::Report(o) => o.dry_run,
            Event::TestNotify | Event::Doctor | Event::Scan { .. } => true,
            Event::Issue { dry_run, .. }
            | Event::Revoke { dry_run, .. }
            | Event::Account { dry_run, .. } => dry_run,
        };
        assert!(dry, "{}", String::from_utf8_lossy(body));
    }
}

#[test]
fn scan_takes_regions_only() {
    let e = Event::parse(br#"{"action":"scan","regions":["cn-shanghai","cn-beijing"]}"#).unwrap();
    let want: Vec<crate::ident::RegionId> = ["cn-shanghai", "cn-beijing"]
        .iter()
        .map(|r| crate::ident::RegionId::parse(r).unwrap())
        .collect();
    assert_eq!(e, Event::Scan { regions: want });
    assert_eq!(
        Event::parse(br#"{"action":"scan"}"#).unwrap(),
        Event::Scan { regions: vec![] }
    );
    for (body, needle) in [
        (&br#"{"action":"scan","regions":["cn/x"]}"#[..], "regions"),
        (br#"{"action":"scan","regions":"cn-shanghai"}"#, "regions"),
        (br#"{"action":"scan","force":true}"#, "it takes: regions"),
    ] {
        let e = Event::parse(body).unwrap_err();
        assert!(e.to_string().contains(needle), "{e} lacks {needle}");
    }
}
