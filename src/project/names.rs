//! Names: "did you mean" for a name that is not known (a table, a model, an assumptions
//! table or key).

/// Edit distance, for "did you mean".
fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Up to three known names close to `wanted`: a small edit away; failing that, the same table
/// name (or one containing it) in another zone or source.
pub fn suggest(wanted: &str, known: &[String]) -> Vec<String> {
    let w = wanted.to_lowercase();
    let last = |s: &str| s.rsplit('.').next().unwrap_or(s).to_string();
    let wl = last(&w);
    let pick = |score: &dyn Fn(&str) -> Option<usize>| -> Vec<String> {
        let mut scored: Vec<(usize, &String)> = known.iter().filter_map(|k| score(&k.to_lowercase()).map(|d| (d, k))).collect();
        scored.sort();
        scored.dedup_by(|a, b| a.1 == b.1);
        scored.into_iter().take(3).map(|(_, k)| k.clone()).collect()
    };
    let close = pick(&|k| Some(levenshtein(&w, k)).filter(|d| *d <= (w.len() / 5).max(2)));
    if !close.is_empty() {
        return close;
    }
    pick(&|k| {
        let kl = last(k);
        let d = levenshtein(&wl, &kl);
        if d <= (wl.len() / 5).max(1) {
            Some(d)
        } else if wl.len() >= 4 && kl.contains(&wl) {
            Some(10 + kl.len() - wl.len())
        } else {
            None
        }
    })
}
