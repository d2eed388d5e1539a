//! The run report: after every run, `_reports/<run id>.html` and `_reports/latest.html` — one
//! self-contained page (inline CSS and SVG, no script, nothing fetched) for the data engineer and
//! the BI lead: outcome and timings, rows read / clean / quarantined per source and file, the
//! quarantine rules most broken with example row numbers, freshness and expectations, schema
//! changes since the last run, the models, and small charts of headline indicators over time
//! (from any `marts.<area>.indicator_values`; left out when there are none). It shows counts,
//! rule ids, file names and row numbers — never a value from a row.

mod chart;
mod indicators;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;

use crate::warehouse::runs::{self, RunRecord};
use crate::warehouse::Warehouse;

pub use indicators::Series;

/// Writes the report of `record` and makes it `latest.html`. Returns the run's report path.
pub fn write(warehouse: &Warehouse, record: &RunRecord) -> std::io::Result<PathBuf> {
    // this run as it ends, not as its committed record said while it was running
    let mut history = runs::list(&warehouse.root);
    for h in history.iter_mut().filter(|h| h.run_id == record.run_id) {
        *h = record.clone();
    }
    let series = indicators::series(warehouse);
    let html = render(record, &history, &series);
    let rel = format!("_reports/{}.html", record.run_id);
    let to_io = |e: crate::warehouse::WarehouseError| std::io::Error::other(e.to_string());
    warehouse.write_file(&rel, html.as_bytes()).map_err(to_io)?;
    warehouse.write_file("_reports/latest.html", html.as_bytes()).map_err(to_io)?;
    Ok(warehouse.root.join(rel))
}

/// HTML-escapes text.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

const CSS: &str = "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1b1f24;margin:0;background:#f5f6f8}\
main{max-width:1100px;margin:0 auto;padding:20px}h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}\
.badge{display:inline-block;padding:2px 10px;border-radius:12px;font-weight:600;color:#fff}.ok{background:#1a7f37}.warn{background:#bf8700}.bad{background:#cf222e}.skip{background:#6e7781}\
table{border-collapse:collapse;width:100%;background:#fff;margin:6px 0}th,td{padding:4px 8px;border-bottom:1px solid #eaeef2;text-align:left;vertical-align:top}\
th{background:#f0f3f6;font-weight:600}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}.muted{color:#656d76;margin:2px 0}\
.cards{display:flex;flex-wrap:wrap;gap:10px}.card{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:8px 14px;min-width:120px}\
.card b{display:block;font-size:20px}.charts{display:flex;flex-wrap:wrap;gap:12px}figure.chart{background:#fff;border:1px solid #d0d7de;border-radius:6px;margin:0;padding:8px}\
figcaption{font-weight:600;font-size:13px;max-width:320px}.axis{stroke:#8c959f;stroke-width:1}.tick{font-size:10px;fill:#656d76}\
.series{fill:none;stroke:#0969da;stroke-width:2}.dot{fill:#0969da}.clean{fill:#2da44e}.quar{fill:#cf222e}\
tr.broken td{background:#fff1f0}code{font-size:12px}td.ex{overflow-wrap:anywhere;width:55%}summary{cursor:pointer;color:#0969da;margin:4px 0}";

/// The page for one run; `history` is every run record (oldest first), `series` the indicators.
pub fn render(r: &RunRecord, history: &[RunRecord], series: &[Series]) -> String {
    let mut h = String::new();
    let (read, clean, quarantined) = r.totals();
    let class = match r.outcome.as_str() {
        "succeeded" => "ok",
        o if o.starts_with("succeeded") => "warn",
        o if o.starts_with("skipped") => "skip",
        _ => "bad",
    };
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>Lantern run {id}</title><style>{CSS}</style></head><body><main>\
<h1>Lantern run <code>{id}</code></h1><p><span class=\"badge {class}\" id=\"outcome\">{outcome}</span> &nbsp;{pipelines}{trigger}</p>",
        id = esc(&r.run_id),
        outcome = esc(&r.outcome),
        pipelines = esc(&r.pipelines.join(", ")),
        trigger = if r.trigger.is_empty() { String::new() } else { format!(" · {}", esc(&r.trigger)) },
    );
    if let Some(e) = &r.error {
        let _ = write!(h, "<p class=\"muted\">error: {}</p>", esc(e));
    }
    let _ = write!(
        h,
        "<div class=\"cards\"><div class=\"card\">files<b>{}</b></div><div class=\"card\">rows read<b id=\"rows-read\">{read}</b></div>\
<div class=\"card\">clean<b id=\"rows-clean\">{clean}</b></div><div class=\"card\">quarantined<b id=\"rows-quarantined\">{quarantined}</b></div>\
<div class=\"card\">load<b>{:.1}s</b></div><div class=\"card\">models<b>{:.1}s</b></div></div>\
<p class=\"muted\">started {} · finished {} · as of {} · warehouse {}</p>",
        r.files.len(),
        r.seconds,
        r.models_seconds,
        esc(short_time(&r.started)),
        esc(short_time(&r.finished)),
        esc(&r.as_of),
        esc(&r.warehouse)
    );
    freshness(&mut h, r);
    sources(&mut h, r);
    rules(&mut h, r);
    dfe_rules(&mut h, r);
    schema_changes(&mut h, r, history);
    trends(&mut h, r, history, series);
    if !r.warnings.is_empty() {
        let _ = write!(h, "<h2>Warnings</h2><details{}><summary>{} warnings</summary><ul>", if r.warnings.len() <= 10 { " open" } else { "" }, r.warnings.len());
        for w in &r.warnings {
            let _ = write!(h, "<li>{}</li>", esc(w));
        }
        h.push_str("</ul></details>");
    }
    models(&mut h, r);
    files(&mut h, r);
    h.push_str("<p class=\"muted\">Written by Lantern. Counts, rule ids, file names and row numbers only: no values from the data.</p></main></body></html>\n");
    h
}

/// `2026-11-23T15:23:15.118248138+00:00` → `2026-11-23T15:23:15`
fn short_time(t: &str) -> &str {
    t.get(..19).unwrap_or(t)
}

fn source_of(f: &crate::warehouse::runs::FileRecord) -> String {
    f.archived_as.strip_prefix("raw/").and_then(|s| s.split('/').next()).unwrap_or("?").to_string()
}

fn sources(h: &mut String, r: &RunRecord) {
    h.push_str("<h2>Sources</h2><table id=\"sources\"><tr><th>source</th><th class=\"n\">files</th><th class=\"n\">read</th><th class=\"n\">clean</th><th class=\"n\">quarantined</th></tr>");
    let mut by: BTreeMap<String, (u64, u64, u64, u64)> = BTreeMap::new();
    for f in &r.files {
        let e = by.entry(source_of(f)).or_default();
        *e = (e.0 + 1, e.1 + f.rows_read, e.2 + f.rows_clean, e.3 + f.rows_quarantined);
    }
    for (s, (n, a, b, c)) in &by {
        let _ = write!(h, "<tr><td>{}</td><td class=\"n\">{n}</td><td class=\"n\">{a}</td><td class=\"n\">{b}</td><td class=\"n\">{c}</td></tr>", esc(s));
    }
    h.push_str("</table>");
}

fn files(h: &mut String, r: &RunRecord) {
    let _ = write!(
        h,
        "<h2>Files</h2><details{}><summary>{} files</summary><table id=\"files\"><tr><th>file</th><th>status</th><th>tables</th><th class=\"n\">read</th><th class=\"n\">clean</th><th class=\"n\">quarantined</th><th class=\"n\">seconds</th></tr>",
        if r.files.len() <= 25 { " open" } else { "" },
        r.files.len()
    );
    for f in &r.files {
        let mut tables: Vec<&str> = f.tables.iter().map(|t| t.table.as_str()).collect();
        tables.dedup();
        let shown = match tables.len() {
            0..=2 => tables.join(", "),
            n => format!("{} and {} more", tables[0], n - 1),
        };
        let _ = write!(
            h,
            "<tr{}><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{:.2}</td></tr>",
            if f.status == "unreadable" { " class=\"broken\"" } else { "" },
            esc(&f.file),
            esc(&f.status),
            esc(&shown),
            f.rows_read,
            f.rows_clean,
            f.rows_quarantined,
            f.seconds
        );
        if let Some(e) = &f.error {
            let _ = write!(h, "<tr class=\"broken\"><td></td><td colspan=\"6\">{}</td></tr>", esc(e));
        }
    }
    h.push_str("</table></details>");
}

/// (table, rule) → (rows, examples as `file rows 4, 7`)
type Tally = Vec<((String, String), (u64, Vec<String>))>;

/// Rules by rows, most broken first.
fn tally(r: &RunRecord, flagged: bool) -> Tally {
    let mut by: BTreeMap<(String, String), (u64, Vec<String>)> = BTreeMap::new();
    for f in &r.files {
        for t in &f.tables {
            for (rule, n) in if flagged { &t.rules_flagged } else { &t.rules_broken } {
                let e = by.entry((t.table.clone(), rule.clone())).or_default();
                e.0 += n;
                let rows: Vec<String> = t.examples.get(rule).into_iter().flatten().map(|r| r.to_string()).collect();
                if !rows.is_empty() && e.1.len() < 3 {
                    e.1.push(format!("{} row{} {}", f.file, if rows.len() > 1 { "s" } else { "" }, rows.join(", ")));
                }
            }
        }
    }
    let mut v: Vec<_> = by.into_iter().collect();
    v.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.0.cmp(&b.0)));
    v
}

/// The statutory returns checked by the DfE's rules: per return, each rule broken with its count,
/// the DfE's message and the first rows (every flag is in `clean.dfe.<return>_flags`).
fn dfe_rules(h: &mut String, r: &RunRecord) {
    let mut checked: Vec<(&str, &crate::warehouse::runs::DfeSummary)> = r.files.iter().filter_map(|f| f.dfe.as_ref().map(|d| (f.file.as_str(), d))).collect();
    checked.extend(r.dfe_returns.iter().map(|d| (d.folder.as_deref().unwrap_or("?"), d)));
    if checked.is_empty() {
        return;
    }
    let mut catalogs: BTreeMap<String, Option<crate::dfe::Catalog>> = BTreeMap::new();
    for (_, d) in &checked {
        catalogs.entry(d.ret.clone()).or_insert_with(|| crate::dfe::Catalog::shipped(&d.ret).ok());
    }
    let message = |ret: &str, year: &str, code: &str| {
        let c = catalogs.get(ret).and_then(Option::as_ref);
        c.and_then(|c| c.ruleset(year).and_then(|set| set.into_iter().find(|x| x.code == code)).or_else(|| c.rules.iter().find(|x| x.code == code)))
            .map(|x| x.message.clone())
            .unwrap_or_default()
    };
    let _ = write!(
        h,
        "<h2>DfE validation rules</h2><p class=\"muted\">Each return checked by the DfE's rules of its collection year; flagged records still land in clean. Every flag: <code>clean.dfe.cin_flags</code>, <code>clean.dfe.ssda903_flags</code>.</p><table id=\"dfe-rules\"><tr><th>file</th><th>year</th><th>rule</th><th>type</th><th class=\"n\">flags</th><th>the DfE's message</th><th>first rows</th></tr>"
    );
    for (file, d) in checked {
        if let Some(l) = &d.last_year {
            let _ = write!(h, "<tr><td>{}</td><td>{}</td><td colspan=\"5\">last year: {}</td></tr>", esc(file), esc(&d.collection_year), esc(l));
        }
        if d.rules.is_empty() {
            let _ = write!(h, "<tr><td>{}</td><td>{}</td><td colspan=\"5\">{} rules, no flag</td></tr>", esc(file), esc(&d.collection_year), d.rules_checked);
        }
        for (code, c) in &d.rules {
            let rows: Vec<String> = c.rows.iter().map(u64::to_string).collect();
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"ex\">{}</td></tr>",
                esc(file),
                esc(&d.collection_year),
                esc(code),
                esc(&c.kind),
                c.flags,
                esc(&message(&d.ret, &d.collection_year, code)),
                rows.join(", ")
            );
        }
    }
    h.push_str("</table>");
}

fn rules(h: &mut String, r: &RunRecord) {
    for (flagged, title, id) in [(false, "Quarantine: rules broken", "quarantine-rules"), (true, "Flagged rows (kept in clean)", "flagged-rules")] {
        let v = tally(r, flagged);
        if v.is_empty() {
            if !flagged {
                let _ = write!(h, "<h2>{title}</h2><p class=\"muted\" id=\"{id}\">no rows quarantined</p>");
            }
            continue;
        }
        let _ = write!(h, "<h2>{title}</h2><table id=\"{id}\"><tr><th>table</th><th>rule</th><th class=\"n\">rows</th><th>examples (file and row number)</th></tr>");
        for ((table, rule), (n, ex)) in v.iter().take(15) {
            let _ = write!(h, "<tr><td>{}</td><td><code>{}</code></td><td class=\"n\">{n}</td><td class=\"ex\">{}</td></tr>", esc(table), esc(rule), esc(&ex.join("; ")));
        }
        if v.len() > 15 {
            let _ = write!(h, "<tr><td colspan=\"4\" class=\"muted\">and {} more rules</td></tr>", v.len() - 15);
        }
        h.push_str("</table>");
    }
}

fn freshness(h: &mut String, r: &RunRecord) {
    h.push_str("<h2>Freshness and expectations</h2>");
    if r.newest_input.is_empty() {
        h.push_str("<p class=\"muted\">no input files landed</p>");
    } else {
        h.push_str("<table id=\"freshness\"><tr><th>source</th><th>newest input (modified)</th></tr>");
        for (s, t) in &r.newest_input {
            let _ = write!(h, "<tr><td>{}</td><td>{}</td></tr>", esc(s), esc(t));
        }
        h.push_str("</table>");
    }
    if r.expectations.is_empty() {
        h.push_str("<p class=\"muted\">no expectations declared (see <code>[expect]</code> in pipelines/*.toml)</p>");
        return;
    }
    h.push_str("<table id=\"expectations\"><tr><th>pipeline</th><th>check</th><th>expected</th><th>actual</th><th>result</th></tr>");
    for e in &r.expectations {
        let result = if e.met { "met".to_string() } else { format!("broken ({})", e.on_break) };
        let _ = write!(
            h,
            "<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            if e.met { "" } else { " class=\"broken\"" },
            esc(&e.pipeline),
            esc(&e.check),
            esc(&e.expected),
            esc(&e.actual),
            result
        );
    }
    h.push_str("</table>");
}

/// Tables received and unrecognised columns, per table, in a run.
fn shape(r: &RunRecord) -> BTreeMap<String, BTreeSet<String>> {
    let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in r.files.iter().filter(|f| !f.file.starts_with("shipped/")) {
        for t in &f.tables {
            m.entry(t.table.clone()).or_default().extend(t.unknown_columns.iter().cloned());
        }
    }
    m
}

fn schema_changes(h: &mut String, r: &RunRecord, history: &[RunRecord]) {
    h.push_str("<h2>Changes since the last run</h2>");
    let prev = history
        .iter()
        .rev()
        .filter(|p| p.run_id < r.run_id && !p.files.is_empty())
        .find(|p| p.pipelines.iter().any(|x| r.pipelines.contains(x)));
    let Some(prev) = prev else {
        h.push_str("<p class=\"muted\" id=\"schema-changes\">first run of these pipelines: nothing to compare</p>");
        return;
    };
    let (now, before) = (shape(r), shape(prev));
    let mut items = vec![];
    for t in now.keys().filter(|t| !before.contains_key(*t)) {
        items.push(format!("new table this run: {t}"));
    }
    for t in before.keys().filter(|t| !now.contains_key(*t)) {
        items.push(format!("not received this run: {t}"));
    }
    for (t, cols) in &now {
        if let Some(old) = before.get(t) {
            let added: Vec<&String> = cols.difference(old).collect();
            let gone: Vec<&String> = old.difference(cols).collect();
            if !added.is_empty() {
                items.push(format!("{t}: new columns not in the schema (not loaded): {}", added.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")));
            }
            if !gone.is_empty() {
                items.push(format!("{t}: columns no longer sent: {}", gone.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")));
            }
        }
    }
    let _ = write!(h, "<p class=\"muted\">compared with run <code>{}</code></p><ul id=\"schema-changes\">", esc(&prev.run_id));
    if items.is_empty() {
        h.push_str("<li>no change in the tables received or their columns</li>");
    }
    for i in items {
        let _ = write!(h, "<li>{}</li>", esc(&i));
    }
    h.push_str("</ul>");
}

fn models(h: &mut String, r: &RunRecord) {
    if r.models.is_empty() {
        return;
    }
    let built = r.models.iter().filter(|m| m.status == "built").count();
    let _ = write!(h, "<h2>Models</h2><p class=\"muted\">{built} built, {} up to date, {:.1}s</p>", r.models.len() - built, r.models_seconds);
    if built == 0 {
        return;
    }
    h.push_str("<table id=\"models\"><tr><th>model</th><th>status</th><th>why</th><th class=\"n\">rows</th><th class=\"n\">seconds</th></tr>");
    for m in r.models.iter().filter(|m| m.status == "built") {
        let _ = write!(h, "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{:.2}</td></tr>", esc(&m.model), esc(&m.status), esc(&m.reason), m.rows, m.seconds);
    }
    h.push_str("</table>");
}

fn trends(h: &mut String, r: &RunRecord, history: &[RunRecord], series: &[Series]) {
    h.push_str("<h2>Over time</h2>");
    let bars: Vec<(String, u64, u64)> = history
        .iter()
        .filter(|p| !p.files.is_empty() && p.run_id <= r.run_id)
        .rev()
        .take(30)
        .map(|p| {
            let (_, c, q) = p.totals();
            (short_time(&p.started).get(..16).unwrap_or(&p.started).replace('T', " "), c, q)
        })
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    if !bars.is_empty() {
        h.push_str("<p class=\"muted\">rows per run: clean (green) and quarantined (red), last 30 runs that read files</p>");
        h.push_str(&chart::runs(&bars));
    }
    if series.is_empty() {
        h.push_str("<p class=\"muted\" id=\"indicators\">no indicators in the warehouse yet (marts.&lt;area&gt;.indicator_values)</p>");
        return;
    }
    h.push_str("<p class=\"muted\">headline indicators (first council in the warehouse)</p><div class=\"charts\" id=\"indicators\">");
    for s in series {
        h.push_str(&chart::line(&format!("{} — {} ({})", s.name, s.la_code, s.table), &s.unit, &s.points));
    }
    h.push_str("</div>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::warehouse::runs::{FileRecord, TableRecord};

    #[test]
    fn the_page_escapes_and_counts() {
        let mut t = TableRecord { table: "mosaic.x".into(), rows_read: 5, rows_clean: 3, rows_quarantined: 2, ..Default::default() };
        t.rules_broken.insert("x.dob.type".into(), 2);
        t.examples.insert("x.dob.type".into(), vec![4, 7]);
        let f = FileRecord { file: "a<b>.csv".into(), status: "received".into(), archived_as: "raw/mosaic/r/a.csv".into(), rows_read: 5, rows_clean: 3, rows_quarantined: 2, tables: vec![t], ..Default::default() };
        let r = RunRecord { run_id: "r1".into(), outcome: "succeeded".into(), files: vec![f], ..Default::default() };
        let html = render(&r, std::slice::from_ref(&r), &[]);
        assert!(html.contains("a&lt;b&gt;.csv rows 4, 7"), "{html}");
        assert!(html.contains("<b id=\"rows-quarantined\">2</b>"));
        assert!(!html.contains("<script") && !html.contains("http"));
    }

    #[test]
    fn indicators_are_charted_when_present_and_missed_gracefully_when_not() {
        let r = RunRecord { run_id: "r1".into(), outcome: "succeeded".into(), ..Default::default() };
        let none = render(&r, &[], &[]);
        assert!(none.contains("no indicators in the warehouse yet"));
        let s = Series {
            table: "marts.send.indicator_values".into(),
            indicator_id: "ehcp_at_period_end".into(),
            name: "EHC plans at the month end".into(),
            unit: "count".into(),
            la_code: "838".into(),
            points: vec![("2024-01-31".into(), 10.0), ("2024-02-29".into(), 12.0), ("2024-03-31".into(), 11.0)],
        };
        let html = render(&r, &[], &[s]);
        let svg = html.split("<polyline points=\"").nth(1).unwrap().split('"').next().unwrap();
        assert_eq!(svg.split(' ').count(), 3, "{svg}");
        assert!(html.contains("EHC plans at the month end — 838 (marts.send.indicator_values)") && html.contains("latest 11 count"));
    }
}
