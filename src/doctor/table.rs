//! The report as a table for a terminal: one line per check, failures first, then what to do.
use super::{DoctorReport, Status};

/// `STATUS  AREA  SUBJECT  DETAIL` columns, then a summary line.
pub fn human_table(report: &DoctorReport) -> String {
    let mut rows: Vec<&super::Check> = report.checks.iter().collect();
    // Stable: failures first, each group in check order.
    rows.sort_by_key(|c| c.status == Status::Ok);
    let width = |f: &dyn Fn(&super::Check) -> usize| rows.iter().map(|c| f(c)).max().unwrap_or(0);
    let (ws, wa, wsub) = (
        width(&|c| c.status.as_str().len()).max(6),
        width(&|c| c.area.as_str().len()).max(4),
        width(&|c| c.subject.chars().count()).clamp(7, 48),
    );
    let mut out = String::new();
    if let Some(id) = &report.identity {
        out.push_str(&format!("account {} as {}\n\n", id.account_id, id.arn));
    }
    out.push_str(&format!(
        "{:ws$}  {:wa$}  {:wsub$}  DETAIL\n",
        "STATUS", "AREA", "SUBJECT"
    ));
    for c in &rows {
        let mut detail = c.detail.clone();
        if !c.actions.is_empty() {
            detail = format!("grant {}: {detail}", c.actions.join(", "));
        }
        // The key that needs the fix, unless the detail already names it.
        if let Some(key) = &c.key {
            if c.status != Status::Ok && !detail.contains(key.as_str()) {
                detail = format!("{key}: {detail}");
            }
        }
        out.push_str(&format!(
            "{:ws$}  {:wa$}  {:wsub$}  {detail}\n",
            c.status.as_str(),
            c.area.as_str(),
            c.subject
        ));
    }
    let bad = report
        .checks
        .iter()
        .filter(|c| c.status != Status::Ok)
        .count();
    out.push_str(&match bad {
        0 => format!("\nall {} checks ok\n", report.checks.len()),
        n => format!(
            "\n{n} of {} checks not ok; `alicert policy` prints the permissions this config needs\n",
            report.checks.len()
        ),
    });
    out
}
