//! The shape of `src/`: its top-level modules form no import cycle, library code never sets
//! process-wide environment variables, builds one async runtime and holds no fault hooks outside
//! the test builds' failure points.
//!
//! A module Y depends on X when Y's code outside `#[cfg(test)]` names `crate::X` (a path, or an
//! entry of `use crate::{…}`), or a `super::` path that climbs out of Y into X. Comments that
//! are not documentation and string literals are ignored; doc comments count (their links are
//! resolved). The dependencies must form no strongly connected component of more than one
//! module: the declarative project and the settings sit at the bottom, runtime modules above.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The source to check: `src/` of this crate, or the folder `LANTERN_CHECK_SRC` names (to run
/// the checks on another tree, e.g. an older commit's `src/`).
fn src_dir() -> PathBuf {
    match std::env::var_os("LANTERN_CHECK_SRC") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
    }
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.expect("a directory entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The text of a Rust file with comments (other than doc comments) and the contents of string
/// and character literals blanked out, so that braces and paths in them are not seen. Line
/// breaks are kept, so offsets still give line numbers.
fn code_only(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            let doc = matches!(b.get(i + 2), Some('/') | Some('!')) && b.get(i + 3) != Some(&'/');
            while i < b.len() && b[i] != '\n' {
                out.push(if doc { b[i] } else { ' ' });
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let doc = matches!(b.get(i + 2), Some('*') | Some('!')) && b.get(i + 3) != Some(&'/');
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str(if doc { "/*" } else { "  " });
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str(if doc { "*/" } else { "  " });
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(if doc { b[i] } else { blank(b[i]) });
                    i += 1;
                }
            }
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && (i == 0 || !is_ident(b[i - 1]) || (b[i - 1] == 'b' && (i == 1 || !is_ident(b[i - 2])))) {
            // a raw string: r"…", r#"…"#, br"…"
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            for _ in i..=j {
                out.push(' ');
            }
            i = j + 1;
            while i < b.len() {
                if b[i] == '"' && (0..hashes).all(|k| b.get(i + 1 + k) == Some(&'#')) {
                    for _ in 0..=hashes {
                        out.push(' ');
                    }
                    i += 1 + hashes;
                    break;
                }
                out.push(blank(b[i]));
                i += 1;
            }
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < b.len() {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' {
            // a character literal ('x', '\n', '\u{..}'), not a lifetime ('a)
            let close = if next == Some('\\') { (i + 2..b.len().min(i + 12)).find(|&k| b[k] == '\'') } else if b.get(i + 2) == Some(&'\'') { Some(i + 2) } else { None };
            match close {
                Some(k) => {
                    for _ in i..=k {
                        out.push(' ');
                    }
                    i = k + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// `code` with every item under `#[cfg(test)]` blanked out (the attribute's item: up to its
/// `;`, or its `{ … }` block).
fn without_tests(code: &str) -> String {
    without_tests_and(code).0
}

/// [`without_tests`], and the names of modules declared in files under `#[cfg(test)]`
/// (`mod tests;`), whose files are test code too.
fn without_tests_and(code: &str) -> (String, Vec<String>) {
    without_items_under(code, "#[cfg(test)]")
}

/// `code` with every item under the attribute `attr` blanked out, and the names of the modules
/// declared in their own files under it.
fn without_items_under(code: &str, attr: &str) -> (String, Vec<String>) {
    let mut test_files = vec![];
    let mut b: Vec<char> = code.chars().collect();
    let attr: Vec<char> = attr.chars().collect();
    let mut i = 0;
    while i + attr.len() <= b.len() {
        if b[i..i + attr.len()] != attr[..] {
            i += 1;
            continue;
        }
        let start = i;
        let mut j = i + attr.len();
        while j < b.len() && b[j] != ';' && b[j] != '{' {
            j += 1;
        }
        if j < b.len() && b[j] == '{' {
            j = closing(&b, j, '{', '}');
        }
        let end = (j + 1).min(b.len());
        let item: String = b[start + attr.len()..end].iter().collect();
        let words: Vec<&str> = item.split(|c: char| !is_ident(c)).filter(|w| !w.is_empty()).collect();
        if item.trim_end().ends_with(';') && words.len() >= 2 && words[words.len() - 2] == "mod" {
            test_files.push(words[words.len() - 1].to_string());
        }
        for c in &mut b[start..end] {
            if *c != '\n' {
                *c = ' ';
            }
        }
        i = end;
    }
    (b.into_iter().collect(), test_files)
}

/// Where the bracket `open` at `b[at]` closes (`b.len()` when it never does).
fn closing(b: &[char], at: usize, open: char, close: char) -> usize {
    let mut depth = 0;
    for (j, &c) in b.iter().enumerate().skip(at) {
        if c == open {
            depth += 1;
        } else if c == close {
            depth -= 1;
            if depth == 0 {
                return j;
            }
        }
    }
    b.len()
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn ident_at(b: &[char], mut i: usize) -> String {
    while i < b.len() && b[i].is_whitespace() {
        i += 1;
    }
    b[i..].iter().take_while(|c| is_ident(**c)).collect()
}

/// The top-level modules that `code` (of module path `here`) names, with the line of each.
fn references(code: &str, here: &[String]) -> Vec<(String, usize)> {
    let b: Vec<char> = code.chars().collect();
    let line_of = |i: usize| b[..i].iter().filter(|c| **c == '\n').count() + 1;
    let mut out = vec![];
    let mut i = 0;
    while i < b.len() {
        let word_start = i == 0 || !(is_ident(b[i - 1]) || b[i - 1] == '$');
        let rest: String = b[i..(i + 7).min(b.len())].iter().collect();
        if word_start && rest == "crate::" {
            let j = i + 7;
            if b.get(j) == Some(&'{') {
                // use crate::{a::X, b, c::{Y, Z}}: the first name of each entry at depth one
                let mut depth = 0;
                let mut k = j;
                let mut entry_start = true;
                while k < b.len() {
                    match b[k] {
                        '{' => {
                            depth += 1;
                            if depth == 1 {
                                entry_start = true;
                            }
                        }
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        ',' if depth == 1 => entry_start = true,
                        c if depth == 1 && entry_start && is_ident(c) => {
                            out.push((ident_at(&b, k), line_of(k)));
                            entry_start = false;
                        }
                        c if depth == 1 && !c.is_whitespace() => entry_start = false,
                        _ => {}
                    }
                    k += 1;
                }
                i = k;
                continue;
            }
            out.push((ident_at(&b, j), line_of(i)));
            i = j;
            continue;
        }
        let rest: String = b[i..(i + 7).min(b.len())].iter().collect();
        if word_start && rest == "super::" {
            let mut path = here.to_vec();
            let mut j = i;
            loop {
                let s: String = b[j..(j + 7).min(b.len())].iter().collect();
                if s != "super::" {
                    break;
                }
                path.pop();
                j += 7;
            }
            if path.is_empty() {
                out.push((ident_at(&b, j), line_of(i)));
            }
            i = j;
            continue;
        }
        i += 1;
    }
    out
}

/// The module path of a file: `src/a/b.rs` → a::b, `src/a/mod.rs` → a, `src/a.rs` → a,
/// `src/lib.rs` → the crate itself.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = rel.iter().map(|s| s.to_string_lossy().trim_end_matches(".rs").to_string()).collect();
    if parts.last().is_some_and(|p| p == "mod") || parts.len() == 1 && (parts[0] == "lib" || parts[0] == "main") {
        parts.pop();
    }
    parts
}

/// Edges between top-level modules: (from, to) → the places (file:line) that make them.
fn module_graph(src: &Path) -> (BTreeSet<String>, BTreeMap<(String, String), Vec<String>>) {
    let mut modules = BTreeSet::new();
    for e in std::fs::read_dir(src).expect("src/") {
        let p = e.expect("an entry").path();
        let name = p.file_stem().expect("a name").to_string_lossy().to_string();
        if p.is_dir() || (p.extension().is_some_and(|x| x == "rs") && name != "lib" && name != "main") {
            modules.insert(name);
        }
    }
    let mut edges: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut test_modules: BTreeSet<Vec<String>> = BTreeSet::new();
    let mut files = vec![];
    for file in rust_files(src) {
        let here = module_path(src, &file);
        let text = std::fs::read_to_string(&file).expect("a source file");
        let (code, tests) = without_tests_and(&code_only(&text));
        for t in tests {
            test_modules.insert(here.iter().cloned().chain([t]).collect());
        }
        files.push((file, here, code));
    }
    for (file, here, code) in files {
        if (1..=here.len()).any(|n| test_modules.contains(&here[..n])) {
            continue;
        }
        let Some(from) = here.first().filter(|m| modules.contains(*m)).cloned() else { continue };
        for (to, line) in references(&code, &here) {
            if to != from && modules.contains(&to) {
                let at = format!("{}:{line}", file.strip_prefix(src.parent().unwrap_or(src)).unwrap_or(&file).display());
                edges.entry((from.clone(), to)).or_default().push(at);
            }
        }
    }
    (modules, edges)
}

/// Strongly connected components (Tarjan), each sorted.
fn components(nodes: &BTreeSet<String>, next: &BTreeMap<String, Vec<String>>) -> Vec<Vec<String>> {
    struct T<'a> {
        next: &'a BTreeMap<String, Vec<String>>,
        index: BTreeMap<String, usize>,
        low: BTreeMap<String, usize>,
        stack: Vec<String>,
        on: BTreeSet<String>,
        out: Vec<Vec<String>>,
    }
    fn visit(t: &mut T, v: &str) {
        let n = t.index.len();
        t.index.insert(v.to_string(), n);
        t.low.insert(v.to_string(), n);
        t.stack.push(v.to_string());
        t.on.insert(v.to_string());
        for w in t.next.get(v).cloned().unwrap_or_default() {
            if !t.index.contains_key(&w) {
                visit(t, &w);
                let l = t.low[v].min(t.low[&w]);
                t.low.insert(v.to_string(), l);
            } else if t.on.contains(&w) {
                let l = t.low[v].min(t.index[&w]);
                t.low.insert(v.to_string(), l);
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = vec![];
            while let Some(w) = t.stack.pop() {
                t.on.remove(&w);
                let done = w == v;
                comp.push(w);
                if done {
                    break;
                }
            }
            comp.sort();
            t.out.push(comp);
        }
    }
    let mut t = T { next, index: BTreeMap::new(), low: BTreeMap::new(), stack: vec![], on: BTreeSet::new(), out: vec![] };
    for v in nodes {
        if !t.index.contains_key(v) {
            visit(&mut t, v);
        }
    }
    t.out
}

#[test]
fn top_level_modules_form_no_cycle() {
    let src = src_dir();
    let (modules, edges) = module_graph(&src);
    assert!(modules.len() > 5, "found only {modules:?} in {}", src.display());
    let mut next: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (from, to) in edges.keys() {
        next.entry(from.clone()).or_default().push(to.clone());
    }
    let cycles: Vec<Vec<String>> = components(&modules, &next).into_iter().filter(|c| c.len() > 1).collect();
    let mut report = String::new();
    for c in &cycles {
        report.push_str(&format!("\nimport cycle among {} modules: {}\n", c.len(), c.join(", ")));
        for ((from, to), at) in edges.iter().filter(|((f, t), _)| c.contains(f) && c.contains(t)) {
            report.push_str(&format!("  {from} -> {to}: {}{}\n", at[..at.len().min(3)].join(", "), if at.len() > 3 { format!(" and {} more", at.len() - 3) } else { String::new() }));
        }
    }
    assert!(cycles.is_empty(), "src/ has import cycles (an edge Y -> X is a use of crate::X in Y outside tests):{report}");
}

#[test]
fn the_declarative_project_and_the_settings_depend_on_no_runtime_module() {
    // the floor: what every runtime module may read, and which reads none of them
    let floor: BTreeMap<&str, &[&str]> = BTreeMap::from([
        ("schema", &[][..]),
        ("privacy", &[][..]),
        ("config", &[][..]),
        ("project", &["schema", "privacy", "config"][..]),
    ]);
    let (_, edges) = module_graph(&src_dir());
    let wrong: Vec<String> = edges
        .iter()
        .filter(|((from, to), _)| floor.get(from.as_str()).is_some_and(|ok| !ok.contains(&to.as_str())))
        .map(|((from, to), at)| format!("  {from} -> {to}: {}", at.join(", ")))
        .collect();
    assert!(wrong.is_empty(), "the project is plain data and the settings are plain settings: runtime modules depend on them, never the reverse:\n{}", wrong.join("\n"));
}

#[test]
fn library_code_sets_no_environment_variables() {
    let src = src_dir();
    let mut found = vec![];
    for file in rust_files(&src) {
        let text = std::fs::read_to_string(&file).expect("a source file");
        let code = without_tests(&code_only(&text));
        for (n, line) in code.lines().enumerate() {
            if ["set_var(", "remove_var("].iter().any(|f| line.contains(f)) {
                found.push(format!("{}:{}: {}", file.display(), n + 1, text.lines().nth(n).unwrap_or("").trim()));
            }
        }
    }
    assert!(found.is_empty(), "process-wide environment changes outside tests (pass the value to where it is used instead):\n{}", found.join("\n"));
}

/// `code` with the arguments of every `fail_point!(…)` blanked out: a failure point compiles
/// to nothing unless the `failpoints` feature (test builds) is on.
fn without_failure_points(code: &str) -> String {
    let mut b: Vec<char> = code.chars().collect();
    let mark: Vec<char> = "fail_point!(".chars().collect();
    let mut i = 0;
    while i + mark.len() <= b.len() {
        if b[i..i + mark.len()] != mark[..] {
            i += 1;
            continue;
        }
        let j = closing(&b, i + mark.len() - 1, '(', ')');
        let end = j.min(b.len());
        for c in &mut b[i + mark.len()..end] {
            if *c != '\n' {
                *c = ' ';
            }
        }
        i = j;
    }
    b.into_iter().collect()
}

/// What library code outside `src/runtime.rs`, tests and the failure points must not do: build a
/// tokio runtime of its own, end the process, read a fault setting from the environment, or use
/// the `fail` crate other than through `fail_point!`.
fn runtime_and_fault_breaches(src: &Path) -> Vec<String> {
    // as code_only leaves it: the string blanked
    let gate = code_only("#[cfg(feature = \"failpoints\")]");
    let mut gated: BTreeSet<Vec<String>> = BTreeSet::new();
    let mut files = vec![];
    for file in rust_files(src) {
        let here = module_path(src, &file);
        let text = std::fs::read_to_string(&file).expect("a source file");
        let (code, tests) = without_tests_and(&code_only(&text));
        let (code, features) = without_items_under(&code, &gate);
        for m in tests.into_iter().chain(features) {
            gated.insert(here.iter().cloned().chain([m]).collect());
        }
        files.push((file, here, text, without_failure_points(&code)));
    }
    let forbidden = [
        ("Runtime::new(", "a tokio runtime of its own (use crate::runtime)"),
        ("new_multi_thread(", "a tokio runtime of its own (use crate::runtime)"),
        ("new_current_thread(", "a tokio runtime of its own (use crate::runtime)"),
        ("process::exit(", "the process ended from library code"),
        ("LANTERN_FAULT", "a fault setting read in library code"),
        ("fail::", "the fail crate outside a fail_point! or a failpoints-gated item"),
    ];
    let mut found = vec![];
    for (file, here, text, code) in files {
        if (1..=here.len()).any(|n| gated.contains(&here[..n])) {
            continue;
        }
        let runtime_home = here == ["runtime"];
        let edge = here.first().is_some_and(|m| m == "cli") || here.is_empty();
        for (n, line) in code.lines().enumerate() {
            for (pattern, why) in forbidden {
                let allowed = (runtime_home && why.contains("runtime")) || (edge && pattern == "process::exit(");
                // a setting's name is in a string, which code_only blanks: look at the line itself
                let seen = if pattern == "LANTERN_FAULT" { !line.trim().is_empty() && text.lines().nth(n).is_some_and(|t| t.contains(pattern)) } else { line.contains(pattern) };
                if seen && !line.contains("fail::fail_point!") && !allowed {
                    found.push(format!("{}:{}: {why}: {}", file.display(), n + 1, text.lines().nth(n).unwrap_or("").trim()));
                }
            }
        }
    }
    found
}

#[test]
fn library_code_builds_one_runtime_and_holds_no_fault_hooks() {
    let found = runtime_and_fault_breaches(&src_dir());
    assert!(found.is_empty(), "{}", found.join("\n"));
    // and the check sees what it is for
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path();
    std::fs::create_dir_all(src.join("job")).unwrap();
    std::fs::write(src.join("runtime.rs"), "pub fn build() { tokio::runtime::Builder::new_multi_thread(); }\n").unwrap();
    std::fs::write(
        src.join("job/mod.rs"),
        r##"#[cfg(feature = "failpoints")]
mod faults;
fn a() { let rt = tokio::runtime::Runtime::new(); }
fn b() { if std::env::var("LANTERN_FAULT").is_ok() { std::process::exit(3) } }
fn c() { fail::fail_point!("x", |_| { std::process::exit(3) }); }
#[cfg(feature = "failpoints")]
fn d() { let _s = fail::FailScenario::setup(); }
fn e() { let _s = fail::FailScenario::setup(); }
"##,
    )
    .unwrap();
    std::fs::write(src.join("job/faults.rs"), "fn f() { std::process::exit(3) }\n").unwrap();
    let found = runtime_and_fault_breaches(src);
    let lines: Vec<&str> = found.iter().map(|f| f.split(": ").nth(1).unwrap_or("")).collect();
    assert_eq!(found.len(), 4, "{found:#?}");
    assert_eq!(lines.iter().filter(|l| l.starts_with("a tokio runtime")).count(), 1, "{found:#?}");
    assert!(found.iter().any(|f| f.contains("mod.rs:4: a fault setting")), "{found:#?}");
    assert!(found.iter().any(|f| f.contains("mod.rs:4: the process ended")), "{found:#?}");
    assert!(found.iter().any(|f| f.contains("mod.rs:8: the fail crate")), "{found:#?}");
}

#[test]
fn the_checker_sees_paths_and_skips_tests_comments_and_strings() {
    let text = r##"
use crate::{alpha::A, beta, gamma::{G, H}};
// crate::commented
/// [`crate::documented`]
fn f() { let s = "crate::quoted"; let r = r#"crate::raw"#; let c = '{'; crate::delta::go(); }
#[cfg(test)]
mod tests { use crate::tested; fn g() { let _ = "}"; } }
#[cfg(test)]
use crate::tested_use;
fn h() { super::super::epsilon::x(); super::sibling(); }
"##;
    let code = without_tests(&code_only(text));
    let mut names: Vec<String> = references(&code, &["m".to_string(), "sub".to_string()]).into_iter().map(|(n, _)| n).collect();
    names.sort();
    assert_eq!(names, ["alpha", "beta", "delta", "documented", "epsilon", "gamma"]);
}
