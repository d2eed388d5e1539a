// mimalloc, as datafusion-cli uses: planning hundreds of small queries and moving row chunks
// between threads is mostly small allocations, freed on another thread than made them, where it is
// much faster than the system allocator
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    lantern::cli::main()
}
