//! The `fabsync` binary: everything happens in `fabsync::cli`.

fn main() -> std::process::ExitCode {
    fabsync::cli::main()
}
