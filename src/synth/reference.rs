//! Reference inputs a council downloads: the ONS mid-year population estimates of its children
//! and young people by single year of age and sex (`reference/mid_year_population.csv`, in the
//! long layout of the DfE's republished estimates), from the simulated population, so that
//! per-10,000 rates divide by the population the events were drawn from.

use super::defects::Plan;
use super::people::{add_years, age_on, date, World};
use super::writer::{Encoding, Output};
use super::Result;

pub fn write(w: &World, out: &mut Output) -> Result<()> {
    let cols = ["LA code", "LA name", "Year", "Sex", "Age", "Population"];
    let mut f = out.csv("reference/mid_year_population.csv", &cols, Plan::none(), Encoding::Utf8);
    for &y in &w.years {
        let mid = date(y - 1, 6, 30);
        let oldest = add_years(mid, -25);
        let mut counts = [[0u64; 25]; 2];
        for p in w.persons.iter().filter(|p| p.resident && !p.uasc && p.dob <= mid && p.dob > oldest) {
            let age = age_on(p.dob, mid) as usize;
            counts[usize::from(p.sex == 'F')][age] += 1;
        }
        for (sex, by_age) in ["1", "2"].iter().zip(counts) {
            for (age, n) in by_age.iter().enumerate() {
                f.clean_row(vec![w.council.la_code.into(), w.council.name.into(), (y - 1).to_string(), sex.to_string(), age.to_string(), n.to_string()]);
            }
        }
    }
    out.close(f)
}
