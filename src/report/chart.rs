//! Small inline SVG charts: no script, no external assets.

use super::esc;

/// A line chart of one series: (label, value) in order, labelled at both ends.
pub fn line(title: &str, unit: &str, points: &[(String, f64)]) -> String {
    let (w, h, pad_l, pad_r, pad_t, pad_b) = (320.0, 130.0, 46.0, 12.0, 10.0, 24.0);
    let mut s = format!("<figure class=\"chart\"><figcaption>{}</figcaption>", esc(title));
    if points.len() < 2 {
        s.push_str("<p class=\"muted\">not enough periods to draw</p></figure>");
        return s;
    }
    let lo = points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let hi = points.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if (hi - lo).abs() < 1e-9 { (lo - 1.0, hi + 1.0) } else { (lo, hi) };
    let x = |i: usize| pad_l + (w - pad_l - pad_r) * i as f64 / (points.len() - 1) as f64;
    let y = |v: f64| pad_t + (h - pad_t - pad_b) * (1.0 - (v - lo) / (hi - lo));
    let path: Vec<String> = points.iter().enumerate().map(|(i, p)| format!("{:.1},{:.1}", x(i), y(p.1))).collect();
    let last = points.last().unwrap();
    s.push_str(&format!(
        "<svg viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{t}\">\
<line x1=\"{pad_l}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" class=\"axis\"/>\
<line x1=\"{pad_l}\" y1=\"{pad_t}\" x2=\"{pad_l}\" y2=\"{b}\" class=\"axis\"/>\
<text x=\"{tx}\" y=\"{ylo}\" class=\"tick\" text-anchor=\"end\">{lo}</text>\
<text x=\"{tx}\" y=\"{yhi}\" class=\"tick\" text-anchor=\"end\">{hi}</text>\
<text x=\"{pad_l}\" y=\"{h2}\" class=\"tick\">{first}</text>\
<text x=\"{r}\" y=\"{h2}\" class=\"tick\" text-anchor=\"end\">{lastl}</text>\
<polyline points=\"{pts}\" class=\"series\"/>\
<circle cx=\"{lx:.1}\" cy=\"{ly:.1}\" r=\"3\" class=\"dot\"/></svg>",
        t = esc(title),
        b = h - pad_b,
        r = w - pad_r,
        tx = pad_l - 4.0,
        ylo = h - pad_b,
        yhi = pad_t + 8.0,
        lo = num(lo),
        hi = num(hi),
        h2 = h - 6.0,
        first = esc(&points[0].0),
        lastl = esc(&last.0),
        pts = path.join(" "),
        lx = x(points.len() - 1),
        ly = y(last.1),
    ));
    s.push_str(&format!("<p class=\"muted\">latest {} {}</p></figure>", num(last.1), esc(unit)));
    s
}

/// Stacked bars: per run, clean and quarantined rows.
pub fn runs(bars: &[(String, u64, u64)]) -> String {
    let (w, h, pad_b) = (640.0, 120.0, 18.0);
    if bars.is_empty() {
        return String::new();
    }
    let max = bars.iter().map(|b| b.1 + b.2).max().unwrap_or(1).max(1) as f64;
    let bw = (w / bars.len() as f64).min(40.0);
    let mut s = format!("<svg viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"rows per run\">");
    for (i, (label, clean, q)) in bars.iter().enumerate() {
        let x = i as f64 * bw + 1.0;
        let hc = (h - pad_b) * *clean as f64 / max;
        let hq = (h - pad_b) * *q as f64 / max;
        s.push_str(&format!(
            "<g><title>{} — {clean} clean, {q} quarantined</title><rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{hc:.1}\" class=\"clean\"/><rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{hq:.1}\" class=\"quar\"/></g>",
            esc(label),
            h - pad_b - hc,
            bw - 2.0,
            h - pad_b - hc - hq,
            bw - 2.0
        ));
    }
    s.push_str(&format!("<text x=\"0\" y=\"{}\" class=\"tick\">{}</text>", h - 4.0, esc(&bars[0].0)));
    if bars.len() > 1 {
        let x = (bars.len() as f64 * bw).max(200.0);
        s.push_str(&format!("<text x=\"{x:.1}\" y=\"{}\" class=\"tick\" text-anchor=\"end\">{}</text>", h - 4.0, esc(&bars[bars.len() - 1].0)));
    }
    s.push_str("</svg>");
    s
}

pub fn num(v: f64) -> String {
    if v.fract().abs() < 1e-9 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}
