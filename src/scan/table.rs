//! The report as a table for a terminal, like doctor's: one line per endpoint (soonest to
//! expire first), then what could not be read, then the kinds not scanned.
use super::ScanReport;

/// `DAYS  HEALTH  KIND  RESOURCE  REGION  NAMES  ISSUER  SOURCE  MANAGED` columns.
pub fn human_table(report: &ScanReport) -> String {
    let rows: Vec<[String; 9]> = report
        .endpoints
        .iter()
        .map(|e| {
            [
                e.days_left.map_or("-".into(), |d| d.to_string()),
                e.health.as_str().to_string(),
                e.kind.clone(),
                e.resource.clone(),
                e.region.clone().unwrap_or_else(|| "-".into()),
                if e.names.is_empty() {
                    "-".into()
                } else {
                    e.names.join(",")
                },
                e.issuer.clone().map_or("-".into(), |i| short(&i, 32)),
                match (&e.source, &e.cas_id) {
                    (Some(s), Some(id)) => format!("{} {id}", s.as_str()),
                    (Some(s), None) => s.as_str().to_string(),
                    (None, _) => "-".into(),
                },
                e.certificate
                    .as_ref()
                    .map_or("no".into(), |c| format!("yes ({c})")),
            ]
        })
        .collect();
    let head = [
        "DAYS", "HEALTH", "KIND", "RESOURCE", "REGION", "NAMES", "ISSUER", "SOURCE", "MANAGED",
    ];
    let mut widths: Vec<usize> = head.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count()).min(48);
        }
    }
    let line = |cells: &[&str]| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:w$}  "));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = format!("regions {}\n\n", report.regions.join(", "));
    out.push_str(&line(&head));
    for row in &rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        out.push_str(&line(&cells));
    }
    out.push_str(&summary(report));
    out
}

fn summary(report: &ScanReport) -> String {
    let mut out = String::new();
    let count = |h| report.endpoints.iter().filter(|e| e.health == h).count();
    let managed = report.endpoints.iter().filter(|e| e.managed).count();
    out.push_str(&format!(
        "\n{} endpoints: {} expired, {} expiring within {} days, {} managed by this config\n",
        report.endpoints.len(),
        count(super::Health::Expired),
        count(super::Health::Expiring),
        report.expiring_within_days,
        managed
    ));
    if !report.problems.is_empty() {
        out.push_str("\nnot read:\n");
        for p in &report.problems {
            let detail = match p.actions.is_empty() {
                true => p.detail.clone(),
                false => format!("grant {}: {}", p.actions.join(", "), p.detail),
            };
            out.push_str(&format!(
                "  {}  {}: {detail}\n",
                p.status.as_str(),
                p.subject
            ));
        }
    }
    out.push_str("\nnot scanned:\n");
    for n in &report.not_scanned {
        out.push_str(&format!("  {}: {}\n", n.kind, n.reason));
    }
    out
}

fn short(s: &str, max: usize) -> String {
    match s.chars().count() > max {
        true => s.chars().take(max - 1).collect::<String>() + "…",
        false => s.to_string(),
    }
}
