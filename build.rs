// The shipped pipelines/, schemas/, sql/ and assumptions/ are embedded with include_dir; rebuild when they change.
fn main() {
    for dir in ["pipelines", "schemas", "sql", "assumptions", "rules"] {
        println!("cargo:rerun-if-changed={dir}");
    }
}
