// The shipped pipelines/, schemas/ and sql/ are embedded with include_dir; rebuild when they change.
fn main() {
    for dir in ["pipelines", "schemas", "sql"] {
        println!("cargo:rerun-if-changed={dir}");
    }
}
