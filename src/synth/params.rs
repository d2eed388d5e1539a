//! Every calibration parameter of the synthetic council in one place. Counts are per year at
//! `--scale 1` for a council the size of Dorset; the simulation multiplies them by the scale and
//! the council's size. Each parameter says which published figure it is calibrated to
//! (`../shared/reference/SEED-FIGURES.md`, row labels such as FD1, CC2) or, where Dorset
//! publishes nothing, which national figure or plausible value it takes.

/// Calibration of one synthetic council.
#[derive(Debug, Clone)]
pub struct Params {
    // ---- population ----
    /// Children born each year who live in the council area. CX3: about 67,500 aged 0-17
    /// (437 CiC = 64.6 per 10,000; 283 CPP = 42 per 10,000), so 67,500 / 18 ≈ 3,750 a year.
    pub births_resident: f64,
    /// Children born each year who live elsewhere but attend the council's schools, so that the
    /// school census reaches ED48 / issue 4's "about 60,000 pupils in about 160 schools" with
    /// the resident population above.
    pub births_cross_border: f64,
    /// Share of boys among births (ONS: about 51 %).
    pub share_male: f64,
    /// Ethnicity (CBDS codes) and weights. ED49: 5-8 % black and minority ethnic in Dorset;
    /// the rest split White British / other White.
    pub ethnicity: Vec<(&'static str, f64)>,

    // ---- front door ----
    /// Contacts a year. FD1: 8,107 contacts dealt with by ChAD in 2021.
    pub contacts: f64,
    /// Referrals a year (each with its contact on the same day). FD2: 2,899 in 2021 (35.8 % of contacts).
    pub referrals: f64,
    /// Share of referrals for a child referred in the 12 months before. FD10: "average 19%".
    pub re_referral: f64,
    /// Contact and referral sources (CIN ReferralSource codes). FD11-FD14: police 21 % of
    /// contacts and 26 % of referrals; health 25 % of contacts and 13 % of referrals.
    pub contact_sources: Vec<(&'static str, f64)>,
    pub referral_sources: Vec<(&'static str, f64)>,
    /// Referrals closed with no further action before assessment (national CIN: about 8 %).
    pub referral_nfa: f64,
    /// Age bands of referred children (national CIN census, 2021: under 1 9 %, 1-4 18 %,
    /// 5-9 25 %, 10-15 35 %, 16-17 13 %); years from, years to (inclusive), weight.
    pub referral_ages: Vec<((u32, u32), f64)>,

    // ---- assessments, s47, child protection ----
    /// Median working days from start to authorisation, and the spread; AS2: 91 % within 45
    /// working days.
    pub assessment_days_median: f64,
    pub assessment_days_sigma: f64,
    /// AS3: child seen during 89 % of assessments.
    pub assessment_child_seen: f64,
    /// Share of assessed referrals with a strategy discussion and section 47 enquiry. FD9:
    /// 42 strategy discussions of 217 referrals in December 2021 (19 %); national about 28 %.
    pub s47: f64,
    /// Share of s47 enquiries that lead to an ICPC. AS5: 58 % did not.
    pub s47_to_icpc: f64,
    /// ICPCs within 15 working days of the strategy discussion. AS7: over 91 %.
    pub icpc_in_15_days: f64,
    /// Share of ICPCs that result in a plan. AS6: 77 %.
    pub icpc_to_cpp: f64,
    /// Share of plans ending within 3 months. CP6: 37 %.
    pub cpp_short: f64,
    /// Median length in months of the other plans (with `cpp_long_sigma`), so that about 270
    /// plans are open at any time: CP1 283 (Dec 2021), 271 (Jan 2022).
    pub cpp_long_median_months: f64,
    pub cpp_long_sigma: f64,
    /// Initial category of abuse (national 2021: neglect 48 %, emotional 38 %, physical 7 %,
    /// sexual 4 %, multiple 3 %).
    pub abuse_categories: Vec<(&'static str, f64)>,
    /// Share of assessments ending in a CIN plan (the rest close or step down to early help).
    pub cin_plan: f64,

    // ---- children in care ----
    /// Children entering care a year. CC41: "105 or ~8 per month"; set a little higher so that
    /// the stock (CC2-CC4: 434-441) and the care leavers (CL1: 272-276) come out right with the
    /// national mix of ages at entry and lengths of stay.
    pub cla_entrants: f64,
    /// Share of entrants who are unaccompanied asylum-seeking children (CC29: 3 UASC of one
    /// month's 13+ entrants; national about 15 %).
    pub uasc_share: f64,
    /// Where entrants come from: a child on a CP plan, a child with an open CIN episode.
    pub cla_from_cpp: f64,
    /// Placement moves a year, by setting (CC14: 8.7 % with 3+ placements in 12 months;
    /// CC13: 76 % long-term stability).
    pub moves_foster: f64,
    pub moves_residential: f64,
    pub moves_semi: f64,
    /// Share of new placements made in children's homes, by age at placement (the rest mostly
    /// fostering; 16 and over also supported accommodation). CC9: 60 of 435 children in
    /// residential placements (about 14 %); CC15: 69 % fostered.
    pub residential_7_9: f64,
    pub residential_10_15: f64,
    pub residential_16_plus: f64,
    /// Share of placements with parents (P1) for children under 16 (national: about 7 % of
    /// children in care), which with the above brings fostering to about CC15's 69 %.
    pub placed_with_parents: f64,
    /// Share of foster placements made with in-house carers (CC16: 47 % of CiC in own
    /// provision; CC8: 188 external placements of 435) and with independent agencies.
    pub foster_in_house: f64,
    /// Share of missing-prone children by setting; MI1: 12 % of CiC missing in the last 12 months.
    pub missing_teen_residential: f64,
    pub missing_teen_other: f64,
    pub missing_young: f64,
    /// Average weekly cost (£) by placement setting in the window's last year. FI4: residential
    /// £5,152 a week (2021), up about 10 % since 2019 (£4,697); CC41 (£28.2m for 425 children,
    /// £1,276 a week on average) for the rest.
    pub weekly_residential_private: f64,
    pub weekly_residential_in_house: f64,
    pub weekly_ifa: f64,
    pub weekly_foster_in_house: f64,
    pub weekly_connected: f64,
    pub weekly_semi_independent: f64,
    pub weekly_secure: f64,
    pub weekly_residential_school: f64,
    /// Yearly rise in placement prices (FI4: +10 % from 2019 to 2021; FI11: +10 % Somerset).
    pub placement_inflation: f64,

    // ---- care leavers ----
    /// OC3 / list 9 rates. CL5: 97 % in touch; CL6: 93 % in suitable accommodation; CL8: 54 %
    /// of 19-21s in education, employment or training.
    pub leaver_in_touch: f64,
    pub leaver_suitable: f64,
    pub leaver_eet: f64,

    // ---- SEND ----
    /// EHC needs assessment requests a year (Dorset self-evaluation: about 50 a month).
    pub ehc_requests: f64,
    /// Share of requests assessed, and of assessments that end in a plan (national 2021: about
    /// 77 % and 94 %).
    pub ehc_assess: f64,
    pub ehc_plan: f64,
    /// EHCPs maintained at the window's start, growing with the flow above. Calibrated so that
    /// the count in the window's last January is about 3,000 (SEED §4.2 "EHCP count": 2,955
    /// SEN2, ~3,200 school census).
    pub ehcp_stock_start: f64,
    /// Plans ceasing a year, as a share of the stock.
    pub ehcp_cease: f64,
    /// Settings of plans (SE14 / Dorset SEND strategy: mainstream, special, INMSS, FE).
    pub ehcp_settings: Vec<(&'static str, f64)>,
    /// SEN support share of pupils. SEED §6: 6,500-6,700 SEN support (about 11 %).
    pub sen_support: f64,

    // ---- schools ----
    /// Schools at scale 1. ED48: 159 (80 primary, 36 first, 15 secondary, 6 special, 4 PRUs …).
    pub schools_primary: f64,
    pub schools_secondary: f64,
    pub schools_special: f64,
    pub schools_pru: f64,
    /// Share of pupils eligible for free school meals (CX4: 25 % of children in poverty;
    /// national FSM eligibility 2021: 21 %; Dorset lower).
    pub fsm: f64,
    /// Overall absence rate (ED22: 4.2 %, from 5 % in 2017/18).
    pub absence_rate: f64,
    /// Suspensions per 100 pupils a year (ED18: 5.2 in 2020/21), permanent exclusions a year
    /// (ED17: 35 in 2020/21).
    pub suspensions_per_100: f64,
    pub permanent_exclusions: f64,

    // ---- finance ----
    /// Children's services net budget (£, excluding DSG) in the window's last year. FI2:
    /// £74.481m (2022/23); FI1: £72.12m budget, £74.864m forecast (2021/22).
    pub cs_net_budget: f64,
    /// High Needs Block allocation in the window's last year. FI12: £42.3m (2021-22).
    pub hnb_allocation: f64,
    /// DSG total in the window's last year. FI12: £280.2m (2021-22).
    pub dsg_total: f64,
    /// Yearly growth of DSG allocations (national high needs funding 2017-2022: about 8 %).
    pub dsg_growth: f64,
    /// Average annual High Needs cost per EHCP by setting (£): set so that spend outruns the
    /// allocation by a growing margin and the cumulative deficit reaches about £39m by the
    /// window's end (FI12: £39.1m as at 2020-21; "overspending for five years").
    pub hn_cost_mainstream: f64,
    pub hn_cost_special: f64,
    pub hn_cost_independent: f64,
    pub hn_cost_fe: f64,
    /// High Needs spend not tied to a plan (place funding, AP, hospital education, SEN
    /// services), as a share of the allocation.
    pub hn_other_share: f64,
}

impl Params {
    /// The Dorset calibration.
    pub fn dorset() -> Self {
        Params {
            births_resident: 3_750.0,
            births_cross_border: 850.0,
            share_male: 0.51,
            ethnicity: vec![
                ("WBRI", 0.885),
                ("WOTH", 0.045),
                ("WIRI", 0.004),
                ("WROM", 0.002),
                ("WIRT", 0.002),
                ("MWBC", 0.007),
                ("MWBA", 0.004),
                ("MWAS", 0.007),
                ("MOTH", 0.009),
                ("AIND", 0.004),
                ("APKN", 0.002),
                ("ABAN", 0.002),
                ("AOTH", 0.004),
                ("BAFR", 0.004),
                ("BCRB", 0.001),
                ("BOTH", 0.001),
                ("CHNE", 0.002),
                ("OOTH", 0.004),
                ("REFU", 0.003),
                ("NOBT", 0.008),
            ],
            contacts: 8_100.0,
            referrals: 2_900.0,
            re_referral: 0.19,
            contact_sources: vec![
                ("6", 0.21),
                ("3A", 0.05),
                ("3B", 0.05),
                ("3C", 0.03),
                ("3D", 0.04),
                ("3E", 0.03),
                ("3F", 0.05),
                ("2A", 0.16),
                ("2B", 0.02),
                ("1A", 0.03),
                ("1B", 0.06),
                ("1C", 0.01),
                ("1D", 0.01),
                ("4", 0.02),
                ("5A", 0.04),
                ("5B", 0.03),
                ("5C", 0.03),
                ("5D", 0.03),
                ("7", 0.01),
                ("8", 0.03),
                ("9", 0.01),
                ("10", 0.01),
            ],
            referral_sources: vec![
                ("6", 0.26),
                ("3A", 0.02),
                ("3B", 0.03),
                ("3C", 0.01),
                ("3D", 0.02),
                ("3E", 0.02),
                ("3F", 0.03),
                ("2A", 0.19),
                ("2B", 0.02),
                ("1A", 0.02),
                ("1B", 0.06),
                ("1C", 0.01),
                ("1D", 0.02),
                ("4", 0.03),
                ("5A", 0.08),
                ("5B", 0.04),
                ("5C", 0.05),
                ("5D", 0.04),
                ("7", 0.02),
                ("8", 0.02),
                ("9", 0.005),
                ("10", 0.005),
            ],
            referral_nfa: 0.08,
            referral_ages: vec![((0, 0), 0.09), ((1, 4), 0.18), ((5, 9), 0.25), ((10, 15), 0.35), ((16, 17), 0.13)],
            assessment_days_median: 24.0,
            assessment_days_sigma: 0.40,
            assessment_child_seen: 0.89,
            s47: 0.33,
            s47_to_icpc: 0.42,
            icpc_in_15_days: 0.91,
            icpc_to_cpp: 0.77,
            cpp_short: 0.37,
            cpp_long_median_months: 19.0,
            cpp_long_sigma: 0.45,
            abuse_categories: vec![("NEG", 0.48), ("EMO", 0.38), ("PHY", 0.07), ("SAB", 0.04), ("MUL", 0.03)],
            cin_plan: 0.32,
            cla_entrants: 126.0,
            uasc_share: 0.14,
            cla_from_cpp: 0.45,
            moves_foster: 0.22,
            moves_residential: 0.55,
            moves_semi: 0.45,
            residential_7_9: 0.08,
            residential_10_15: 0.36,
            residential_16_plus: 0.30,
            placed_with_parents: 0.08,
            foster_in_house: 0.58,
            missing_teen_residential: 0.40,
            missing_teen_other: 0.12,
            missing_young: 0.01,
            weekly_residential_private: 5_150.0,
            weekly_residential_in_house: 3_900.0,
            weekly_ifa: 960.0,
            weekly_foster_in_house: 420.0,
            weekly_connected: 300.0,
            weekly_semi_independent: 1_650.0,
            weekly_secure: 7_400.0,
            weekly_residential_school: 4_300.0,
            placement_inflation: 0.05,
            leaver_in_touch: 0.97,
            leaver_suitable: 0.93,
            leaver_eet: 0.56,
            ehc_requests: 620.0,
            ehc_assess: 0.80,
            ehc_plan: 0.93,
            ehcp_stock_start: 2_080.0,
            ehcp_cease: 0.055,
            ehcp_settings: vec![("mainstream", 0.42), ("special", 0.34), ("independent", 0.11), ("fe", 0.13)],
            sen_support: 0.115,
            schools_primary: 122.0,
            schools_secondary: 27.0,
            schools_special: 6.0,
            schools_pru: 4.0,
            fsm: 0.17,
            absence_rate: 0.045,
            suspensions_per_100: 5.2,
            permanent_exclusions: 45.0,
            cs_net_budget: 74_500_000.0,
            hnb_allocation: 42_300_000.0,
            dsg_total: 280_200_000.0,
            dsg_growth: 0.07,
            hn_cost_mainstream: 6_800.0,
            hn_cost_special: 16_800.0,
            hn_cost_independent: 40_000.0,
            hn_cost_fe: 7_500.0,
            hn_other_share: 0.27,
        }
    }
}
