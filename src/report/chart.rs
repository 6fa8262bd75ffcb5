//! The report's inline SVG: a days-left bar per certificate and a histogram of expiry dates
//! (certificates per period), each with text labels so that no colour carries meaning alone.
use std::fmt::Write;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::html::esc;
use super::status::CertEntry;

/// Days on a full bar at least (a Let's Encrypt certificate's 90-day life).
pub const MIN_SCALE_DAYS: i64 = 90;
/// At most this many bars in the expiry histogram.
const MAX_BARS: i64 = 26;

fn parse(t: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(t, &Rfc3339).ok()
}

/// The bar's class for `days` left (same bands as the text labels in html.rs).
fn class(days: i64) -> &'static str {
    match days {
        d if d <= 7 => "bad",
        d if d <= 30 => "warn",
        _ => "ok",
    }
}

/// Days-left bar on a `scale`-day axis, with a tick at the next renewal.
pub fn timeline(c: &CertEntry, generated_at: &str, scale: i64) -> String {
    let Some(days) = c.days_left else {
        return String::new();
    };
    let scale = scale.max(1) as f64;
    let width = (days.max(0) as f64 / scale * 100.0).min(100.0);
    let mut svg = format!(
        r#"<svg class="bar" viewBox="0 0 100 12" preserveAspectRatio="none" role="img" aria-label="{days} days left"><title>{days} days left of a {scale}-day scale</title><rect class="track" x="0" y="2" width="100" height="8"/><rect class="{}" x="0" y="2" width="{width:.2}" height="8"/>"#,
        class(days)
    );
    let renew_in = c
        .next_renewal
        .as_ref()
        .and_then(|n| Some((parse(&n.at)? - parse(generated_at)?).whole_days()));
    if let Some(r) = renew_in.filter(|r| *r >= 0) {
        let x = (r as f64 / scale * 100.0).min(100.0);
        let _ = write!(
            svg,
            r#"<line class="mark" x1="{x:.2}" y1="0" x2="{x:.2}" y2="12"><title>next renewal in {r} days</title></line>"#
        );
    }
    svg.push_str("</svg>");
    svg
}

/// How many certificates expire in each period from now on (one bar per period; expired
/// certificates in a bar of their own).
pub fn expiry_chart(certs: &[CertEntry]) -> String {
    let days: Vec<(i64, &str)> = certs
        .iter()
        .filter_map(|c| Some((c.days_left?, c.name.as_str())))
        .collect();
    if days.is_empty() {
        return r#"<p class="mute">No certificate is deployed yet.</p>"#.into();
    }
    let span = days.iter().map(|(d, _)| *d).max().unwrap_or(0).max(7) + 1;
    let per_bar = ((span + MAX_BARS - 1) / MAX_BARS).max(7);
    let bars = (span + per_bar - 1) / per_bar;
    let mut groups: Vec<Vec<&str>> = vec![Vec::new(); bars as usize + 1];
    for (d, name) in &days {
        let slot = if *d < 0 {
            0
        } else {
            1 + (d / per_bar) as usize
        };
        groups[slot.min(bars as usize)].push(name);
    }
    let most = groups.iter().map(Vec::len).max().unwrap_or(1).max(1) as f64;
    let (w, bar_w, top, height) = (36.0, 28.0, 16.0, 110.0);
    let total_w = w * groups.len() as f64 + 8.0;
    let mut svg = format!(
        r#"<svg class="chart" viewBox="0 0 {total_w} {}" role="img" aria-label="certificates by expiry date"><title>Certificates by days to expiry, {per_bar} days per bar</title>"#,
        top + height + 30.0
    );
    for (i, names) in groups.iter().enumerate() {
        if i == 0 && names.is_empty() {
            continue;
        }
        let x = 4.0 + w * i as f64;
        let from = if i == 0 { -1 } else { (i as i64 - 1) * per_bar };
        let h = names.len() as f64 / most * height;
        let y = top + height - h;
        // About ten axis labels whatever the number of bars; a count only on bars that have one.
        let every = (groups.len() / 10).max(1);
        let label = match i {
            0 => "expired".to_string(),
            _ if (i - 1) % every == 0 => format!("{from}d"),
            _ => String::new(),
        };
        let count = if names.is_empty() {
            String::new()
        } else {
            names.len().to_string()
        };
        let list: Vec<String> = names.iter().map(|n| esc(n)).collect();
        let _ = write!(
            svg,
            r#"<g class="slot"><title>{} expiring {}: {}</title><rect class="{}" x="{x}" y="{y:.1}" width="{bar_w}" height="{h:.1}"/><text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text><text x="{:.1}" y="{}" text-anchor="middle">{label}</text></g>"#,
            names.len(),
            if i == 0 {
                "already".to_string()
            } else {
                format!("in {from}–{} days", from + per_bar - 1)
            },
            list.join(", "),
            class(from),
            x + bar_w / 2.0,
            y - 3.0,
            count,
            x + bar_w / 2.0,
            top + height + 14.0,
        );
    }
    let _ = write!(
        svg,
        r#"<line class="axis" x1="0" y1="{0}" x2="{total_w}" y2="{0}"/><text x="4" y="{1}">days until expiry (bar colour: red ≤ 7, amber ≤ 30, green later)</text></svg>"#,
        top + height,
        top + height + 28.0
    );
    svg
}
