//! The process's one tokio runtime. The binary builds it at its edge (`cli::main`) and
//! hands it here with [`install`]; DataFusion's sessions, the object store client, Ballista, the
//! HTTP server and every other future Lantern waits for run on it. Sync code waits for a future
//! with [`block_on`], from any thread: a plain thread, a worker of the runtime (it steps out
//! with `block_in_place`) or the thread that drives the runtime.
//!
//! A library caller that installs none (a test) gets one built on first use: still one.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Builder, Handle, Runtime};

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// A multi-threaded runtime, a worker per core (the kind [`block_on`] needs).
pub fn build() -> std::io::Result<Runtime> {
    Builder::new_multi_thread()
        .enable_all()
        .thread_name("lantern")
        .build()
}

/// Makes `rt` the process's runtime; gives it back if there is one already.
pub fn install(rt: Runtime) -> Result<(), Runtime> {
    RUNTIME.set(rt)
}

/// The process's runtime, built now if none was installed.
pub fn handle() -> Handle {
    RUNTIME
        .get_or_init(|| build().expect("a tokio runtime"))
        .handle()
        .clone()
}

/// Runs `f` on the process's runtime and waits for it.
pub fn block_on<F: Future>(f: F) -> F::Output {
    let handle = handle();
    tokio::task::block_in_place(|| handle.block_on(f))
}
