//! The synthetic council: one simulated population of children over time, written out as the
//! exports Lantern ingests — MOSAIC's SSDA903 return (CSV set or XML), CIN census XML and Annex A
//! lists (monthly workbooks for the last year); the school census as COLLECT Blade CSVs;
//! Synergy's SEN2 return (Blade CSVs or XML), Annex A SEND lists and EHCP placement costs; the
//! finance ledger, budgets, coding map and DSG allocations; the reference downloads (population,
//! statistical neighbours, benchmarks) — with a manifest of the defects injected into them.
//! docs/synth.md describes every file and option.
//!
//! `generate(opts)` is the whole public surface. For each council it simulates
//! ([`people::simulate`]) and then writes each source under `DIR/landing/<LA code>/`:
//! [`mosaic`] (with [`annex_a`]), [`census`], [`synergy`] (with [`ehcp`]), [`finance`] and
//! [`reference`]; the benchmarks for all councils go to `DIR/landing/reference/`. [`defects`]
//! decides, record by record and deterministically, which records get which defect, and
//! `writer` records each in the manifest with the row and rule Lantern reports. Everything is a
//! pure function of the options: every random draw comes from a ChaCha8 stream seeded from
//! `--seed`, the council and the stream's name, maps are iterated in sorted order, and workbooks
//! carry a fixed creation date, so two runs with the same options write byte-identical files.
//!
//! Calibration targets (Dorset, `../shared/reference/SEED-FIGURES.md`) live in one place,
//! [`params::Params`], each with the figure it is calibrated to.

pub mod annex_a;
pub mod census;
pub mod defects;
pub mod ehcp;
pub mod finance;
pub mod mosaic;
pub mod params;
pub mod people;
pub mod reference;
pub mod rng;
pub mod synergy;
pub mod truth;
pub mod upn;
mod writer;

use std::path::{Path, PathBuf};

use serde::Serialize;

pub use params::Params;

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// Output folder: files go to `out/landing/<LA code>/…`, the manifest to `out/manifest.json`.
    pub out: PathBuf,
    /// Size multiplier: 1.0 is a Dorset-sized council (about 67,500 children aged 0-17).
    pub scale: f64,
    pub seed: u64,
    /// Number of councils, each with its own LA code and seed stream.
    pub councils: usize,
    /// Years simulated and written, ending 31 March of `end_year`.
    pub years: u32,
    /// The collection year the window ends in (its 31 March is the last day simulated).
    pub end_year: i32,
    /// Share of data rows given a defect (a bad date, an unknown code, a blank required field
    /// or a duplicate row; an overlapping 903 episode); 0 writes clean files.
    pub defect_rate: f64,
    /// The shape of the SSDA903 return: the CSV set or the XML.
    pub ssda903: Ssda903Shape,
    /// The shape of the SEN2 return: COLLECT Blade CSVs or the XML.
    pub sen2: Sen2Shape,
    /// Which MOSAIC exports: the statutory returns (SSDA903, CIN census), the Annex A lists, or both.
    pub social_care: SocialCare,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            out: PathBuf::from("synthetic"),
            scale: 1.0,
            seed: 1,
            councils: 1,
            years: 5,
            end_year: 2025,
            defect_rate: 0.001,
            ssda903: Ssda903Shape::Csv,
            sen2: Sen2Shape::Blade,
            social_care: SocialCare::Both,
        }
    }
}

/// The SSDA903 return as a CSV set (one file per table) or as the `EXPSSDA903` XML. The two carry
/// the same children and events; load one of them for a year, not both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Ssda903Shape {
    Csv,
    Xml,
}

/// The SEN2 return as COLLECT Blade CSVs (one per module) or as the XML Synergy produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Sen2Shape {
    Blade,
    Xml,
}

/// MOSAIC's exports: the returns (SSDA903 and CIN census), the Annex A lists, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum SocialCare {
    Returns,
    AnnexA,
    Both,
}

impl SocialCare {
    pub fn returns(self) -> bool {
        self != SocialCare::AnnexA
    }

    pub fn annex_a(self) -> bool {
        self != SocialCare::Returns
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{0}")]
    Options(String),
}

pub type Result<T> = std::result::Result<T, SynthError>;

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SynthError + '_ {
    move |source| SynthError::Io { path: path.display().to_string(), source }
}

/// A real council the generator can imitate: DfE LA code, name, and size relative to Dorset
/// (0-17 population, ONS mid-2020 estimates rounded).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Council {
    pub la_code: &'static str,
    pub name: &'static str,
    pub size: f64,
}

/// Councils in the order `--councils N` takes them: Dorset, Somerset, BCP, then the rest of
/// the South West, then (for regional runs of up to 50) the South East, East and West Midlands,
/// their sizes rounded guesses relative to Dorset.
pub const COUNCILS: [Council; 50] = [
    Council { la_code: "838", name: "Dorset", size: 1.0 },
    Council { la_code: "933", name: "Somerset", size: 1.63 },
    Council { la_code: "839", name: "Bournemouth, Christchurch and Poole", size: 1.12 },
    Council { la_code: "878", name: "Devon", size: 2.05 },
    Council { la_code: "865", name: "Wiltshire", size: 1.57 },
    Council { la_code: "908", name: "Cornwall", size: 1.58 },
    Council { la_code: "916", name: "Gloucestershire", size: 1.97 },
    Council { la_code: "801", name: "Bristol, City of", size: 1.48 },
    Council { la_code: "879", name: "Plymouth", size: 0.76 },
    Council { la_code: "866", name: "Swindon", size: 0.73 },
    Council { la_code: "803", name: "South Gloucestershire", size: 0.86 },
    Council { la_code: "802", name: "North Somerset", size: 0.63 },
    Council { la_code: "800", name: "Bath and North East Somerset", size: 0.53 },
    Council { la_code: "880", name: "Torbay", size: 0.38 },
    Council { la_code: "886", name: "Kent", size: 5.0 },
    Council { la_code: "850", name: "Hampshire", size: 4.1 },
    Council { la_code: "330", name: "Birmingham", size: 4.3 },
    Council { la_code: "881", name: "Essex", size: 4.6 },
    Council { la_code: "919", name: "Hertfordshire", size: 3.9 },
    Council { la_code: "936", name: "Surrey", size: 3.8 },
    Council { la_code: "926", name: "Norfolk", size: 2.6 },
    Council { la_code: "935", name: "Suffolk", size: 2.2 },
    Council { la_code: "931", name: "Oxfordshire", size: 2.1 },
    Council { la_code: "938", name: "West Sussex", size: 2.4 },
    Council { la_code: "845", name: "East Sussex", size: 1.5 },
    Council { la_code: "873", name: "Cambridgeshire", size: 2.1 },
    Council { la_code: "860", name: "Staffordshire", size: 2.4 },
    Council { la_code: "937", name: "Warwickshire", size: 1.7 },
    Council { la_code: "885", name: "Worcestershire", size: 1.6 },
    Council { la_code: "893", name: "Shropshire", size: 0.8 },
    Council { la_code: "894", name: "Telford and Wrekin", size: 0.6 },
    Council { la_code: "884", name: "Herefordshire", size: 0.5 },
    Council { la_code: "331", name: "Coventry", size: 1.1 },
    Council { la_code: "332", name: "Dudley", size: 0.9 },
    Council { la_code: "333", name: "Sandwell", size: 1.1 },
    Council { la_code: "334", name: "Solihull", size: 0.6 },
    Council { la_code: "335", name: "Walsall", size: 0.9 },
    Council { la_code: "336", name: "Wolverhampton", size: 0.8 },
    Council { la_code: "861", name: "Stoke-on-Trent", size: 0.8 },
    Council { la_code: "825", name: "Buckinghamshire", size: 1.7 },
    Council { la_code: "826", name: "Milton Keynes", size: 0.9 },
    Council { la_code: "846", name: "Brighton and Hove", size: 0.7 },
    Council { la_code: "851", name: "Portsmouth", size: 0.6 },
    Council { la_code: "852", name: "Southampton", size: 0.7 },
    Council { la_code: "921", name: "Isle of Wight", size: 0.3 },
    Council { la_code: "887", name: "Medway", size: 0.9 },
    Council { la_code: "822", name: "Bedford", size: 0.6 },
    Council { la_code: "823", name: "Central Bedfordshire", size: 0.9 },
    Council { la_code: "821", name: "Luton", size: 0.7 },
    Council { la_code: "874", name: "Peterborough", size: 0.7 },
];

/// One injected defect: where Lantern will report it and with which rule.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Defect {
    /// Path relative to the landing folder, as Lantern writes it in `_file`.
    pub file: String,
    /// 1-based row as Lantern writes it in `_row`: the spreadsheet row of a CSV or sheet (the
    /// header is row 1), the line of an XML record's opening tag.
    pub row: u64,
    pub column: String,
    /// The `_rule` Lantern writes for the quarantined row; none for a defect Lantern lands as it
    /// is (an overlapping episode, repaired when the episodes are staged).
    pub rule: Option<String>,
    /// bad_date, unknown_code, blank_required, duplicate_row; overlapping_episode
    pub kind: String,
    /// What should become of the row: `quarantined`, or `repaired in staging`.
    pub expected: Option<String>,
}

/// A file written, with its data rows.
#[derive(Debug, Clone, Serialize)]
pub struct FileEntry {
    pub file: String,
    pub rows: u64,
    pub bytes: u64,
}

/// Headline figures of one generated council, per collection year, for checking calibration.
#[derive(Debug, Clone, Default, Serialize)]
pub struct YearSummary {
    pub year: i32,
    pub contacts: u64,
    pub referrals: u64,
    pub re_referrals_12m: u64,
    pub assessments: u64,
    pub s47: u64,
    pub cpp_started: u64,
    pub cpp_open_31_march: u64,
    pub cla_started: u64,
    pub cla_31_march: u64,
    pub care_leavers_31_march: u64,
    pub ehcps_january: u64,
    pub pupils_spring: u64,
    pub schools: u64,
    pub residential_avg_weekly_cost: f64,
    pub hnb_allocation: f64,
    pub hnb_spend: f64,
    pub dsg_cumulative_deficit: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CouncilManifest {
    pub la_code: String,
    pub name: String,
    pub seed: u64,
    pub children_0_17: u64,
    pub years: Vec<YearSummary>,
}

/// What `generate` wrote: `out/manifest.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub generator: String,
    pub seed: u64,
    pub scale: f64,
    pub years: u32,
    pub end_year: i32,
    pub defect_rate: f64,
    pub ssda903: Ssda903Shape,
    pub sen2: Sen2Shape,
    pub social_care: SocialCare,
    pub landing: String,
    pub councils: Vec<CouncilManifest>,
    pub files: Vec<FileEntry>,
    pub defects: Vec<Defect>,
    pub rows: u64,
    /// The true value of every indicator with a truth, from the simulation itself (not from the
    /// files): `truth.csv` beside this manifest ([`truth`]).
    pub truth: String,
}

impl Manifest {
    /// What was written, and each council's headline figures year by year, for a terminal.
    pub fn report(&self, out: &Path, seconds: f64) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "wrote {} files, {} rows, {} defects for {} council(s) into {} in {seconds:.1}s ({:.0} rows/s)",
            self.files.len(),
            self.rows,
            self.defects.len(),
            self.councils.len(),
            out.join(&self.landing).display(),
            self.rows as f64 / seconds.max(1e-9)
        );
        for c in &self.councils {
            let _ = writeln!(s, "{} {}: {} children aged 0-17", c.la_code, c.name, c.children_0_17);
            let _ = writeln!(s, "  year contacts referrals re-ref% assessments  s47 cpp_open in_care leavers ehcps pupils res_weekly_£ hnb_alloc_£m hnb_spend_£m dsg_deficit_£m");
            for y in &c.years {
                let _ = writeln!(
                    s,
                    "  {} {:>8} {:>9} {:>6.1} {:>11} {:>4} {:>8} {:>7} {:>7} {:>5} {:>6} {:>12.0} {:>12.1} {:>12.1} {:>14.1}",
                    y.year,
                    y.contacts,
                    y.referrals,
                    100.0 * y.re_referrals_12m as f64 / y.referrals.max(1) as f64,
                    y.assessments,
                    y.s47,
                    y.cpp_open_31_march,
                    y.cla_31_march,
                    y.care_leavers_31_march,
                    y.ehcps_january,
                    y.pupils_spring,
                    y.residential_avg_weekly_cost,
                    y.hnb_allocation / 1e6,
                    y.hnb_spend / 1e6,
                    y.dsg_cumulative_deficit / 1e6
                );
            }
        }
        let _ = writeln!(s, "manifest: {}", out.join("manifest.json").display());
        s
    }
}

/// Generate `opts.councils` synthetic councils into `opts.out`; returns (and writes) the manifest.
pub fn generate(opts: &GenerateOptions) -> Result<Manifest> {
    if !(opts.scale > 0.0 && opts.scale <= 100.0) {
        return Err(SynthError::Options(format!("--scale must be above 0 and at most 100, not {}", opts.scale)));
    }
    if opts.councils == 0 || opts.councils > COUNCILS.len() {
        return Err(SynthError::Options(format!("--councils must be 1 to {}, not {}", COUNCILS.len(), opts.councils)));
    }
    if opts.years == 0 || opts.years > 20 {
        return Err(SynthError::Options(format!("--years must be 1 to 20, not {}", opts.years)));
    }
    if !(0.0..=0.2).contains(&opts.defect_rate) {
        return Err(SynthError::Options(format!("--defect-rate must be 0 to 0.2, not {}", opts.defect_rate)));
    }
    if !(2012..=2040).contains(&opts.end_year) {
        return Err(SynthError::Options(format!("--end-year must be 2012 to 2040, not {}", opts.end_year)));
    }
    let landing = opts.out.join("landing");
    std::fs::create_dir_all(&landing).map_err(io_err(&landing))?;
    let mut manifest = Manifest {
        generator: format!("lantern {} synth", env!("CARGO_PKG_VERSION")),
        seed: opts.seed,
        scale: opts.scale,
        years: opts.years,
        end_year: opts.end_year,
        defect_rate: opts.defect_rate,
        ssda903: opts.ssda903,
        sen2: opts.sen2,
        social_care: opts.social_care,
        landing: "landing".into(),
        councils: vec![],
        files: vec![],
        defects: vec![],
        rows: 0,
        truth: "truth.csv".into(),
    };
    let mut truths = vec![];
    let mut published = vec![];
    for council in COUNCILS.iter().take(opts.councils) {
        let params = Params::dorset();
        let world = people::simulate(council, &params, opts);
        truths.extend(truth::compute(&world));
        let mut out = writer::Output::new(&landing, council.la_code, opts.seed, opts.defect_rate);
        mosaic::write(&world, &mut out, opts)?;
        let pupils = census::write(&world, &mut out)?;
        synergy::write(&world, &mut out, opts.sen2)?;
        reference::write(&world, &mut out)?;
        let money = finance::write(&world, &mut out)?;
        let mut summary = world.summary();
        for y in &mut summary {
            if let Some(m) = money.iter().find(|m| m.year == y.year) {
                y.residential_avg_weekly_cost = m.residential_avg_weekly_cost;
                y.hnb_allocation = m.hnb_allocation;
                y.hnb_spend = m.hnb_spend;
                y.dsg_cumulative_deficit = m.dsg_cumulative_deficit;
            }
            if let Some((_, n)) = pupils.iter().find(|(py, _)| *py == y.year) {
                y.pupils_spring = *n;
            }
        }
        published.push(reference::Published::of(&world, &summary));
        manifest.councils.push(CouncilManifest {
            la_code: council.la_code.into(),
            name: council.name.into(),
            seed: world.seed,
            children_0_17: world.children_0_17(world.window_end),
            years: summary,
        });
        let (files, defects) = out.finish();
        manifest.files.extend(files);
        manifest.defects.extend(defects);
    }
    // published benchmarks cover every council generated, once, at the landing root
    let mut out = writer::Output::national(&landing, opts.seed, opts.defect_rate);
    reference::write_benchmarks(&published, &mut out)?;
    let (files, _) = out.finish();
    manifest.files.extend(files);
    manifest.files.sort_by(|a, b| a.file.cmp(&b.file));
    manifest.defects.sort();
    manifest.rows = manifest.files.iter().map(|f| f.rows).sum();
    truth::write(&truths, &opts.out.join(&manifest.truth))?;
    let path = opts.out.join("manifest.json");
    let text = serde_json::to_string_pretty(&manifest).expect("serialisable");
    std::fs::write(&path, text + "\n").map_err(io_err(&path))?;
    Ok(manifest)
}
