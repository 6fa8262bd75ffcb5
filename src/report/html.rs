//! `report.html`: one self-contained page (inline CSS and SVG; no script, font, image or link
//! from anywhere, and a Content-Security-Policy that forbids loading any), readable without
//! JavaScript, light and dark (`prefers-color-scheme`), one column on a phone. Every colour
//! comes with a text label. Everything from config or services is escaped.
use std::fmt::Write;

use super::status::{CertEntry, DriftEntry, ErrorEntry, StatusDoc, TargetEntry};

/// HTML text and attribute escaping (the five characters that matter in both).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
:root{color-scheme:light dark;--bg:#fff;--fg:#1b1f24;--mute:#57606a;--line:#d0d7de;--card:#f6f8fa;
--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e;--info:#57606a;--track:#e6e9ed}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--mute:#9198a1;--line:#30363d;
--card:#161b22;--ok:#3fb950;--warn:#d29922;--bad:#f85149;--info:#9198a1;--track:#30363d}}
*{box-sizing:border-box}body{margin:0;padding:1rem;background:var(--bg);color:var(--fg);
font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","PingFang SC","Microsoft YaHei",sans-serif}
main{max-width:72rem;margin:0 auto}h1{font-size:1.4rem;margin:.2rem 0}h2{font-size:1.15rem;margin:0 0 .5rem}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em;overflow-wrap:anywhere}
.run,.mute{color:var(--mute)}section{margin:1rem 0}
.cert{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.8rem;margin:.8rem 0}
.badge{display:inline-block;border-radius:1rem;padding:0 .55rem;font-size:.8rem;font-weight:600;border:1px solid currentColor;vertical-align:middle}
.ok{color:var(--ok)}.warn{color:var(--warn)}.bad{color:var(--bad)}.info{color:var(--info)}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .8rem;margin:.4rem 0}dt{color:var(--mute)}dd{margin:0;min-width:0}
.bar{width:100%;max-width:28rem;height:12px;display:block;margin:.2rem 0}
.bar .track{fill:var(--track)}.bar .ok{fill:var(--ok)}.bar .warn{fill:var(--warn)}.bar .bad{fill:var(--bad)}.bar .mark{stroke:var(--fg);stroke-width:1.5}
.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .5rem;border-top:1px solid var(--line);vertical-align:top}
th{color:var(--mute);font-weight:600}.error{color:var(--bad)}
.chart{width:100%;height:auto;max-height:16rem}.chart text{fill:var(--fg);font-size:11px}.chart .axis{stroke:var(--line)}
.chart .ok{fill:var(--ok)}.chart .warn{fill:var(--warn)}.chart .bad{fill:var(--bad)}
@media (max-width:40rem){body{padding:.5rem}dl{grid-template-columns:1fr}dt{margin-top:.3rem}
table,thead,tbody,tr,th,td{display:block}thead{display:none}td{border:0;padding:.1rem 0}tr{border-top:1px solid var(--line);padding:.4rem 0}}
"#;

/// Days-left band: (css class, text label).
fn band(days: Option<i64>) -> (&'static str, &'static str) {
    match days {
        None => ("info", "no certificate"),
        Some(d) if d < 0 => ("bad", "expired"),
        Some(d) if d <= 7 => ("bad", "critical"),
        Some(d) if d <= 30 => ("warn", "renews soon"),
        Some(_) => ("ok", "ok"),
    }
}

fn status_badge(status: &str) -> String {
    let class = match status {
        "failed" => "bad",
        "would_renew" | "would_deploy" | "skipped" | "backing_off" => "warn",
        "up_to_date" | "renewed" | "issued" | "deployed" => "ok",
        _ => "info",
    };
    format!(
        r#"<span class="badge {class}">{}</span>"#,
        esc(&status.replace('_', " ")).to_uppercase()
    )
}

/// The whole page.
pub fn render(doc: &StatusDoc) -> String {
    let mut h = String::with_capacity(8192 + doc.certificates.len() * 2048);
    h.push_str(r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">"#);
    h.push_str(r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#);
    // Nothing may be fetched: the page is complete as it is.
    h.push_str(r#"<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">"#);
    h.push_str(r#"<meta name="color-scheme" content="light dark"><title>alicert certificates</title><style>"#);
    h.push_str(STYLE);
    h.push_str("</style></head><body><main>");
    header(&mut h, doc);
    h.push_str(r#"<section id="expiry"><h2>Expiry dates</h2>"#);
    h.push_str(&super::chart::expiry_chart(&doc.certificates));
    h.push_str("</section><section id=\"certificates\">");
    let scale = doc
        .certificates
        .iter()
        .filter_map(|c| c.days_left)
        .max()
        .unwrap_or(0)
        .max(super::chart::MIN_SCALE_DAYS);
    for (i, c) in doc.certificates.iter().enumerate() {
        certificate(&mut h, i, c, &doc.generated_at, scale);
    }
    h.push_str("</section></main></body></html>\n");
    h
}

fn header(h: &mut String, doc: &StatusDoc) {
    let run = &doc.run;
    let failed = doc
        .certificates
        .iter()
        .filter(|c| c.status == "failed")
        .count();
    let soon = doc
        .certificates
        .iter()
        .filter(|c| c.days_left.is_some_and(|d| d <= 30))
        .count();
    let outcome = if run.outcome == "ok" {
        r#"<span class="badge ok" id="outcome">OK</span>"#
    } else {
        r#"<span class="badge bad" id="outcome">FAILED</span>"#
    };
    let _ = write!(
        h,
        r#"<header><h1>alicert certificates</h1><p class="run">Run <code id="run-id">{}</code> ({}) started {} · took {:.1} s · {outcome}{}</p>"#,
        esc(&run.request_id),
        esc(&run.action),
        esc(&run.started_at),
        run.duration_ms as f64 / 1000.0,
        if run.changed {
            " · changed something"
        } else {
            ""
        },
    );
    let _ = write!(
        h,
        r#"<p id="summary">{} certificates · <span class="{}">{failed} failed</span> · <span class="{}">{soon} expire within 30 days</span> · generated {}</p></header>"#,
        doc.certificates.len(),
        if failed > 0 { "bad" } else { "mute" },
        if soon > 0 { "warn" } else { "mute" },
        esc(&doc.generated_at),
    );
}

fn certificate(h: &mut String, i: usize, c: &CertEntry, generated_at: &str, scale: i64) {
    let (class, label) = band(c.days_left);
    let drifted = c.targets.iter().filter(|t| t.drift.is_some()).count();
    // Beside the status, which stays what it is: someone changed an endpoint.
    let drift = match drifted {
        0 => String::new(),
        n => format!(
            r#" <span class="badge warn drifted">{n} TARGET{} DRIFTED</span>"#,
            if n == 1 { "" } else { "S" }
        ),
    };
    let _ = write!(
        h,
        r#"<article class="cert" id="cert-{i}" data-name="{}" data-serial="{}" data-days-left="{}" data-status="{}"><h2><span class="name">{}</span> {}{drift}</h2><dl>"#,
        esc(&c.name),
        esc(c.serial.as_deref().unwrap_or("")),
        c.days_left.map(|d| d.to_string()).unwrap_or_default(),
        esc(&c.status),
        esc(&c.name),
        status_badge(&c.status),
    );
    let names: Vec<String> = c.domains.iter().map(|d| esc(d)).collect();
    let _ = write!(
        h,
        "<dt>Names</dt><dd class=\"domains mono\">{}</dd>",
        names.join(", ")
    );
    let dash = || "—".to_string();
    let serial = c.serial.as_deref().map(esc).unwrap_or_else(dash);
    let _ = write!(h, "<dt>Serial</dt><dd class=\"serial mono\">{serial}</dd>");
    let issuer = c.issuer.as_deref().map(esc).unwrap_or_else(dash);
    let _ = write!(h, "<dt>Issuer</dt><dd class=\"issuer\">{issuer}</dd>");
    let not_after = c.not_after.as_deref().map(esc).unwrap_or_else(dash);
    let _ = write!(
        h,
        "<dt>Not after</dt><dd class=\"not-after\">{not_after}</dd>"
    );
    let days = match c.days_left {
        Some(d) if d < 0 => format!("expired {} days ago", -d),
        Some(d) => format!("{d} days left"),
        None => dash(),
    };
    let _ = write!(
        h,
        r#"<dt>Days left</dt><dd>{}<span class="days-left">{days}</span> <span class="badge {class}">{label}</span></dd>"#,
        super::chart::timeline(c, generated_at, scale)
    );
    if let Some(n) = &c.next_renewal {
        let _ = write!(
            h,
            r#"<dt>Next renewal</dt><dd class="next-renewal">{} <span class="mute">({})</span></dd>"#,
            esc(&n.at),
            esc(&n.why)
        );
    }
    if let Some(r) = &c.reason {
        let _ = write!(h, "<dt>Reason</dt><dd class=\"reason\">{}</dd>", esc(r));
    }
    if let Some(e) = &c.error {
        let _ = write!(
            h,
            "<dt>Error</dt><dd class=\"error\">{}</dd>",
            error_text(e)
        );
    }
    h.push_str("</dl>");
    targets(h, &c.targets);
    h.push_str("</article>");
}

fn error_text(e: &ErrorEntry) -> String {
    let mut s = format!(
        r#"<span class="badge bad">ERROR</span> <code class="error-code">{}</code> {}"#,
        esc(&e.code),
        esc(&e.message)
    );
    if let Some(id) = &e.request_id {
        let _ = write!(
            s,
            r#" · RequestId <code class="request-id">{}</code>"#,
            esc(id)
        );
    }
    s
}

/// A drifted target: what it served instead of alicert's certificate (its serial when that is
/// not what the target serves now: replaced), and what the run did.
fn drift_text(d: &DriftEntry, serving: Option<&str>) -> String {
    let action = match d.action.as_str() {
        "skipped" => "left in place until it is due (force replaces it)",
        "would_replace" => "due: a renew run replaces it",
        "replaced" => "replaced in this run",
        other => other,
    };
    let serial = match serving {
        Some(s) if s == d.serial => String::new(),
        _ => format!(r#"serial <code>{}</code>, "#, esc(&d.serial)),
    };
    format!(
        r#"<div class="drift" data-action="{}"><span class="badge warn">DRIFT</span> not deployed by alicert: {}; {serial}issuer {}, names {}, valid until {} — {}</div>"#,
        esc(&d.action),
        esc(&d.reason),
        esc(&d.issuer),
        esc(&d.names.join(", ")),
        esc(&d.not_after),
        esc(action)
    )
}

fn targets(h: &mut String, targets: &[TargetEntry]) {
    h.push_str(r#"<div class="scroll"><table class="targets"><thead><tr><th>Target</th><th>Serves now</th><th>This run</th><th>Last result</th></tr></thead><tbody>"#);
    for t in targets {
        let serving = t
            .serving
            .as_deref()
            .map(|s| format!(r#"<code class="serving">{}</code>"#, esc(s)))
            .unwrap_or_else(|| r#"<span class="serving mute">nothing read</span>"#.into());
        let serving = match &t.drift {
            Some(d) => format!("{serving}{}", drift_text(d, t.serving.as_deref())),
            None => serving,
        };
        let last = match &t.last_result {
            None => r#"<span class="mute">none recorded</span>"#.to_string(),
            Some(l) => {
                let mut s = format!(
                    r#"{} <span class="mute">{} · run <code>{}</code></span>"#,
                    status_badge(&l.status),
                    esc(&l.at),
                    esc(&l.run)
                );
                if let Some(e) = &l.error {
                    let _ = write!(s, r#"<div class="error">{}</div>"#, error_text(e));
                }
                s
            }
        };
        let _ = write!(
            h,
            r#"<tr class="target" data-kind="{}" data-id="{}" data-state="{}"><td><span class="mono">{}</span> <code>{}</code></td><td>{serving}</td><td>{}</td><td>{last}</td></tr>"#,
            esc(&t.kind),
            esc(&t.id),
            esc(&t.state),
            esc(&t.kind),
            esc(&t.id),
            status_badge(&t.state),
        );
    }
    h.push_str("</tbody></table></div>");
}

#[cfg(test)]
mod tests {
    use super::super::status::*;
    use super::*;

    fn doc() -> StatusDoc {
        let hostile = "<script>alert(1)</script>\"'&";
        StatusDoc {
            schema: SCHEMA,
            generated_at: "2027-01-01T00:00:00Z".into(),
            run: RunInfo {
                request_id: hostile.into(),
                action: "renew".into(),
                started_at: "2027-01-01T00:00:00Z".into(),
                duration_ms: 1500,
                outcome: "failed".into(),
                changed: true,
            },
            certificates: vec![CertEntry {
                name: "www".into(),
                domains: vec![hostile.into()],
                status: "failed".into(),
                serial: Some("1a2b".into()),
                issuer: Some(hostile.into()),
                not_after: Some("2027-01-05T00:00:00Z".into()),
                days_left: Some(4),
                next_renewal: Some(Renewal {
                    at: "2026-12-06T00:00:00Z".into(),
                    why: hostile.into(),
                }),
                reason: Some(hostile.into()),
                error: None,
                targets: vec![TargetEntry {
                    kind: "cdn".into(),
                    id: hostile.into(),
                    state: "failed".into(),
                    serving: None,
                    not_after: None,
                    drift: Some(DriftEntry {
                        serial: "5e".into(),
                        issuer: hostile.into(),
                        not_after: "2027-03-01T00:00:00Z".into(),
                        names: vec![hostile.into()],
                        deployed_as: Some(hostile.into()),
                        reason: hostile.into(),
                        action: "skipped".into(),
                    }),
                    last_result: Some(LastResult {
                        status: "failed".into(),
                        at: "2027-01-01T00:00:00Z".into(),
                        run: "r1".into(),
                        error: Some(ErrorEntry {
                            code: "Forbidden.RAM".into(),
                            message: hostile.into(),
                            request_id: Some("RID-1".into()),
                        }),
                    }),
                }],
            }],
        }
    }

    #[test]
    fn escapes_everything_and_loads_nothing() {
        let page = render(&doc());
        assert!(!page.contains("<script"), "unescaped markup");
        assert!(!page.contains("\"'&\""));
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;"));
        for needle in ["src=", "href=", "url(", "@import", "http://", "https://"] {
            assert!(!page.contains(needle), "{needle} in the page");
        }
        assert!(page.contains("Forbidden.RAM") && page.contains("RID-1"));
        assert!(page.contains("4 days left") && page.contains("critical"));
        assert!(page.contains("prefers-color-scheme:dark"));
        assert!(page.contains(r#"<div class="drift" data-action="skipped">"#));
        assert!(page.contains("1 TARGET DRIFTED"));
        // The drifted serial is shown when the target serves another one (here: none read).
        assert!(page.contains("serial <code>5e</code>"));
    }

    #[test]
    fn chart_counts_certificates_per_period() {
        let mut d = doc();
        let mut second = d.certificates[0].clone();
        second.name = "api".into();
        second.days_left = Some(60);
        let mut expired = second.clone();
        expired.name = "old".into();
        expired.days_left = Some(-2);
        d.certificates.extend([second, expired]);
        let svg = super::super::chart::expiry_chart(&d.certificates);
        assert!(svg.contains("1 expiring already: old"), "{svg}");
        assert!(svg.contains(": api</title>"), "{svg}");
        assert!(svg.contains(": www</title>"), "{svg}");
    }
}
