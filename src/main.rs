fn main() -> std::process::ExitCode {
    lantern::cli::main()
}
