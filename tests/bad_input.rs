//! The bad-input corpus: broken and hostile files of every kind a landing folder can receive
//! (encodings, truncations, bombs, traversal, formulas, huge numbers and fields, odd shapes),
//! built here, run together through `lantern run` and `lantern validate` under a memory cap and a
//! time limit. Every file must end as rows in `clean` or `quarantine` or as a refused file with a
//! message; no panic, no hang, no aborted run, and no row unaccounted for.

mod common;

use std::path::Path;
use std::process::Command;

use common::{fixtures, KEY};

const HEADER: &str = "CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\n";

fn good_rows(n: usize) -> String {
    (1..=n).map(|i| format!("3{i:05},{},14/05/2012,WBRI,C1234567{i:05},,\n", 1 + i % 2)).collect()
}

fn xlsx(rows: &[Vec<String>], extra: impl FnOnce(&mut rust_xlsxwriter::Worksheet)) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            ws.write_string(r as u32, c as u16, cell).unwrap();
        }
    }
    extra(ws);
    wb.save_to_buffer().unwrap()
}

fn csv_rows(text: &str) -> Vec<Vec<String>> {
    text.lines().map(|l| l.split(',').map(str::to_string).collect()).collect()
}

fn utf16(text: &str, le: bool, bom: bool) -> Vec<u8> {
    let mut out = vec![];
    if bom {
        out.extend(if le { [0xFF, 0xFE] } else { [0xFE, 0xFF] });
    }
    for u in text.encode_utf16() {
        out.extend(if le { u.to_le_bytes() } else { u.to_be_bytes() });
    }
    out
}

/// (file name, bytes): at least 150 broken or hostile files.
fn corpus() -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = vec![];
    let mut add = |name: String, bytes: Vec<u8>| files.push((name, bytes));
    let header = format!("{HEADER}{}", good_rows(20));

    // encodings and line endings
    add("enc_utf8.csv".into(), header.clone().into_bytes());
    add("enc_utf8_bom.csv".into(), [b"\xEF\xBB\xBF".as_slice(), header.as_bytes()].concat());
    add("enc_utf16le_bom.csv".into(), utf16(&header, true, true));
    add("enc_utf16be_bom.csv".into(), utf16(&header, false, true));
    add("enc_utf16le_nobom.csv".into(), utf16(&header, true, false));
    add("enc_utf16be_nobom.csv".into(), utf16(&header, false, false));
    add("enc_cp1252.csv".into(), header.replace("WBRI", "W\u{a3}RI").chars().map(|c| if c == '\u{a3}' { 0xA3 } else { c as u8 }).collect());
    add("enc_invalid_utf8.csv".into(), header.replace("WBRI", "W\u{1}RI").into_bytes().into_iter().map(|b| if b == 1 { 0xC3 } else { b }).collect());
    add("enc_crlf.csv".into(), header.replace('\n', "\r\n").into_bytes());
    add("enc_cr_only.csv".into(), header.replace('\n', "\r").into_bytes());
    add("enc_mixed_endings.csv".into(), header.lines().enumerate().map(|(i, l)| format!("{l}{}", ["\n", "\r\n", "\r"][i % 3])).collect::<String>().into_bytes());
    add("enc_nul_bytes.csv".into(), header.replace("WBRI", "WB\0RI").into_bytes());
    add("enc_utf8_bom_twice.csv".into(), [b"\xEF\xBB\xBF\xEF\xBB\xBF".as_slice(), header.as_bytes()].concat());
    add("enc_latin1_header.csv".into(), b"CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB,NOT\xE9\n".iter().copied().chain(good_rows(3).bytes()).collect());

    // truncations: a CSV, the CIN census XML and a workbook cut at many points
    for cut in [1, 5, 20, 37, 38, 60, 100, 250, 400, header.len() - 3] {
        add(format!("cut_csv_{cut}.csv"), header.as_bytes()[..cut.min(header.len())].to_vec());
    }
    let cin = std::fs::read(fixtures().join("cin_census/BAR_cin_2022.xml")).unwrap();
    for k in 1..=12 {
        let cut = cin.len() * k / 13;
        add(format!("cut_cin_{k:02}.xml"), cin[..cut].to_vec());
    }
    let book = xlsx(&csv_rows(&header), |_| {});
    for k in 1..=6 {
        add(format!("cut_book_{k}.xlsx"), book[..book.len() * k / 7].to_vec());
    }

    // shapes: missing and extra fields, header oddities
    for (i, row) in [
        "400001,14/05/2012,WBRI,D123456789012,,",
        "400002,1,14/05/2012,WBRI,D123456789013,,,,,",
        "400003",
        ",,,,,,,,,,,,,,,,,,,,,,,",
        "400005;1;14/05/2012;WBRI;D123456789015;;",
        "400006,1,14/05/2012,WBRI,D123456789016,,,",
    ]
    .iter()
    .enumerate()
    {
        add(format!("shape_fields_{i}.csv"), format!("{HEADER}{}{row}\n{}", good_rows(3), good_rows(2)).into_bytes());
    }
    add("shape_empty.csv".into(), vec![]);
    add("shape_bom_only.csv".into(), b"\xEF\xBB\xBF".to_vec());
    add("shape_newlines_only.csv".into(), b"\n\n\n\n".to_vec());
    add("shape_header_only.csv".into(), HEADER.as_bytes().to_vec());
    add("shape_one_column.csv".into(), b"CHILD\n1\n2\n".to_vec());
    add("shape_wide_header.csv".into(), format!("{}\n", (0..10_000).map(|i| format!("c{i}")).collect::<Vec<_>>().join(",")).into_bytes());
    add("shape_duplicate_columns.csv".into(), format!("CHILD,CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\n1{}", good_rows(3).replace('\n', "\n1")).trim_end_matches('1').as_bytes().to_vec());
    add("shape_blank_header_names.csv".into(), format!(",,,,,,\n{}", good_rows(3)).into_bytes());
    add("shape_spaces_header.csv".into(), format!(" CHILD , SEX ,DOB , ETHNIC,UPN ,MOTHER,MC_DOB\n{}", good_rows(3)).into_bytes());
    add("shape_tabs.csv".into(), format!("{HEADER}{}", good_rows(5)).replace(',', "\t").into_bytes());
    add("shape_blank_lines.csv".into(), format!("{HEADER}\n\n{}\n\n{}", good_rows(3), good_rows(2)).into_bytes());

    // quotes
    for col in 0..7 {
        let mut rows: Vec<Vec<String>> = csv_rows(&good_rows(6));
        rows[2][col] = format!("\"{}", rows[2][col]);
        let body: String = rows.iter().map(|r| format!("{}\n", r.join(","))).collect();
        add(format!("quote_open_col{col}.csv"), format!("{HEADER}{body}").into_bytes());
    }
    add("quote_inner.csv".into(), format!("{HEADER}500001,1,14/05/2012,W\"BR\"I,E123456789012,,\n").into_bytes());
    add("quote_escaped.csv".into(), format!("{HEADER}\"500002\",\"1\",\"14/05/2012\",\"W\"\"BRI\",\"E123456789013\",,\n").into_bytes());
    add("quote_closed_late.csv".into(), format!("{HEADER}\"500003,1\",14/05/2012,WBRI,E123456789014,,\n").into_bytes());
    add("quote_newline_inside.csv".into(), format!("{HEADER}500004,1,\"14/05\n/2012\",WBRI,E123456789015,,\n{}", good_rows(2)).into_bytes());

    // huge fields
    for (name, n) in [("field_2mb.csv", 2 << 20), ("field_500kb.csv", 500 << 10), ("field_70kb_upn.csv", 70 << 10)] {
        add(name.into(), format!("{HEADER}600001,1,14/05/2012,WBRI,{},,\n{}", "A".repeat(n), good_rows(2)).into_bytes());
    }

    // numbers and amounts in a ledger
    let ledger_head = "Fiscal Year,Period Num,Accounting Date,Cost Centre,Natural Account,Entered Amount,Line Description\n";
    for (i, amount) in [
        "99999999999999999999999999",
        "-99999999999999999999999999",
        "9223372036854775808",
        "-9223372036854775809",
        "1e308",
        "NaN",
        "inf",
        "1,2,3",
        "\"1,23,4.5\"",
        "(((5)))",
        "£-5",
        "12.345",
        "0x1F",
        "9999999999999999.99",
        "10000000000000000.00",
        "",
    ]
    .iter()
    .enumerate()
    {
        add(format!("ledger_amount_{i:02}.csv"), format!("{ledger_head}2024-25,3,15/06/2024,CC100,5100,{amount},line\n2024-25,3,16/06/2024,CC100,5100,12.00,fine\n").into_bytes());
    }
    for (i, period) in ["0", "13", "-1", "99999999999999999999", "1.5", "one"].iter().enumerate() {
        add(format!("ledger_period_{i}.csv"), format!("{ledger_head}2024-25,{period},15/06/2024,CC100,5100,1.00,line\n").into_bytes());
    }
    for (i, year) in ["../../x", "2024-26", "99999", "", "20/24", "2024-25/../../y"].iter().enumerate() {
        add(format!("ledger_year_{i}.csv"), format!("{ledger_head}{year},3,15/06/2024,CC100,5100,1.00,line\n").into_bytes());
    }

    // dates
    for (i, dob) in ["31/02/2020", "00/00/0000", "01/01/1800", "31/12/9999", "44000", "2012-05-14", "14/05/12", "14.05.2012", "", "today"].iter().enumerate() {
        add(format!("date_{i}.csv"), format!("{HEADER}70000{i},1,{dob},WBRI,F1234567890{i:02},,\n").into_bytes());
    }

    // formulas (CSV injection): loaded as text, never evaluated
    for (i, f) in ["=cmd|' /C calc'!A0", "+SUM(1+1)", "-2+3", "@HYPERLINK(\"http://x\")", "=1+1"].iter().enumerate() {
        add(format!("formula_{i}.csv"), format!("{HEADER}80000{i},1,14/05/2012,{f},G1234567890{i:02},,\n").into_bytes());
    }

    // traversal through the council the file names
    for (i, lea) in ["..", "../../../../victim", "201/../../../quarantine/mosaic", "/etc", "2010", "abc", "20", "", "%2e%2e", "201\\..\\x", "201\0", " 201 "].iter().enumerate() {
        let text = String::from_utf8_lossy(&cin).replace("<LEA>201</LEA>", &format!("<LEA>{lea}</LEA>"));
        add(format!("lea_{i:02}.xml"), text.into_bytes());
    }

    // bombs
    add("bomb_wide.xlsx".into(), xlsx(&csv_rows(&header), |ws| {
        ws.write_string(1_048_575, 16_383, "x").unwrap();
    }));
    add("bomb_string.xlsx".into(), {
        let book = xlsx(&csv_rows(&header), |ws| {
            ws.write_string(30, 0, "PLACEHOLDER").unwrap();
        });
        let tmp = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(tmp.path(), book).unwrap();
        common::patch_zip(tmp.path(), "xl/sharedStrings.xml", |x| x.replace("PLACEHOLDER", &"y".repeat(3 << 20)));
        std::fs::read(tmp.path()).unwrap()
    });
    add("bomb_deep.xml".into(), format!("<Message>{}{}</Message>", "<a>".repeat(100_000), "</a>".repeat(100_000)).into_bytes());
    add(
        "bomb_entities.xml".into(),
        "<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]><Message><Header><CollectionDetails><Collection>CIN</Collection></CollectionDetails></Header><x>&c;&c;&c;</x></Message>".as_bytes().to_vec(),
    );
    add("bomb_xml_attributes.xml".into(), format!("<Message {}></Message>", (0..50_000).map(|i| format!("a{i}=\"v\"")).collect::<Vec<_>>().join(" ")).into_bytes());

    // not what the name says
    let mut rng = 0x2545F4914F6CDD1Du64;
    let mut noise = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                rng as u8
            })
            .collect()
    };
    for (i, n) in [10, 1000, 100_000].iter().enumerate() {
        add(format!("noise_{i}.csv"), noise(*n));
        add(format!("noise_{i}.xlsx"), noise(*n));
        add(format!("noise_{i}.xml"), noise(*n));
    }
    add("png_named.csv".into(), [b"\x89PNG\r\n\x1a\n".as_slice(), &noise(200)].concat());
    add("pdf_named.csv".into(), [b"%PDF-1.7\n".as_slice(), &noise(200)].concat());
    add("gzip_named.csv".into(), [b"\x1f\x8b\x08\x00".as_slice(), &noise(200)].concat());
    add("zip_not_workbook.xlsx".into(), {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        w.start_file("hello.txt", zip::write::SimpleFileOptions::default()).unwrap();
        std::io::Write::write_all(&mut w, b"hello").unwrap();
        w.finish().unwrap().into_inner()
    });
    add("xml_unknown_root.xml".into(), b"<?xml version=\"1.0\"?><Unknown><a>1</a></Unknown>".to_vec());
    add("xml_not_closed.xml".into(), b"<?xml version=\"1.0\"?><Message><Header>".to_vec());
    add("xml_two_roots.xml".into(), b"<Message></Message><Message></Message>".to_vec());
    add("html_named.csv".into(), b"<!DOCTYPE html><html><body>export failed</body></html>".to_vec());
    files
}

#[test]
fn every_broken_file_is_loaded_quarantined_or_refused_and_none_stops_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let landing = tmp.path().join("landing");
    std::fs::create_dir_all(&landing).unwrap();
    let files = corpus();
    assert!(files.len() >= 150, "the corpus has {} files", files.len());
    for (name, bytes) in &files {
        std::fs::write(landing.join(name), bytes).unwrap();
    }
    let warehouse = tmp.path().join("w");
    // under a 4 GiB address-space cap and a time limit: a bomb may not take the machine
    let capped = |args: &[&str]| {
        Command::new("prlimit")
            .args(["--as=4294967296", "--", "timeout", "600"])
            .arg(env!("CARGO_BIN_EXE_lantern"))
            .args(args)
            .env("LANTERN_PSEUDONYM_KEY", KEY)
            .env("LANTERN_MEMORY_LIMIT", "1GiB")
            .output()
            .expect("prlimit and timeout (util-linux, coreutils) run lantern")
    };
    let out = capped(&["run", "--landing", landing.to_str().unwrap(), "--warehouse", warehouse.to_str().unwrap(), "--la", "201", "--as-of", "2024-03-31"]);
    let said = format!("stdout:\n{}\nstderr:\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "the run must finish, with rejected files (exit 1)\n{said}");
    assert!(!said.contains("panicked"), "{said}");

    let record = common::run_records(&warehouse).pop().unwrap();
    let recorded: Vec<&serde_json::Value> = record["files"].as_array().unwrap().iter().filter(|f| !f["file"].as_str().unwrap().starts_with("reference")).collect();
    let mut refused = 0;
    for (name, _) in &files {
        let f = recorded.iter().find(|f| f["file"].as_str() == Some(name.as_str())).unwrap_or_else(|| panic!("{name} is not in the run record"));
        let n = |k: &str| f[k].as_u64().unwrap();
        assert_eq!(n("rows_read"), n("rows_clean") + n("rows_quarantined"), "{name}: rows unaccounted for: {f}");
        match f["status"].as_str().unwrap() {
            "unreadable" => {
                refused += 1;
                let e = f["error"].as_str().unwrap_or("");
                assert!(!e.is_empty(), "{name}: refused without a message");
                assert_eq!(n("rows_read"), 0, "{name}");
            }
            "received" | "unknown" => {}
            s => panic!("{name}: status {s}"),
        }
        assert!(!f["archived_as"].as_str().unwrap_or("").is_empty(), "{name} was not archived");
    }
    let (_, clean, quarantined) = totals(&record);
    println!("{} files: {refused} refused with a message, the others loaded: {clean} rows clean, {quarantined} quarantined", files.len());
    assert!(refused >= 40, "only {refused} files refused: the corpus is meant to be hostile");
    // nothing outside the warehouse, nothing half-staged
    assert!(!tmp.path().join("victim").exists() && !tmp.path().join("y").exists() && !tmp.path().join("x").exists());
    assert!(!warehouse.join("_staging").exists() || std::fs::read_dir(warehouse.join("_staging")).unwrap().next().is_none());
    for f in common::all_files(&warehouse) {
        let rel = f.strip_prefix(&warehouse).unwrap().display().to_string();
        assert!(!rel.contains(".."), "{rel}");
    }
    assert!(clean > 100 && quarantined > 20, "clean {clean}, quarantined {quarantined}");

    // `lantern validate` on every file: a line each, no panic
    let mut args = vec!["validate".to_string()];
    args.extend(files.iter().map(|(n, _)| landing.join(n).display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = capped(&args);
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(!said.contains("panicked"), "{said}");
    for (name, _) in &files {
        assert!(said.contains(&format!("{}:", Path::new(&landing).join(name).display())), "validate said nothing of {name}");
    }
}

fn totals(record: &serde_json::Value) -> (u64, u64, u64) {
    record["files"].as_array().unwrap().iter().fold((0, 0, 0), |a, f| {
        (a.0 + f["rows_read"].as_u64().unwrap(), a.1 + f["rows_clean"].as_u64().unwrap(), a.2 + f["rows_quarantined"].as_u64().unwrap())
    })
}
