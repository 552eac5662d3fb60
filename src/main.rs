//! The `fabsync` binary: everything happens in `fabsync::cli`.

/// mimalloc instead of glibc malloc: a sync is millions of small JSON allocations across a large
/// heap, where glibc's allocator spent 40-60 % of the time (`cargo bench --bench sync`).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    fabsync::cli::main()
}
