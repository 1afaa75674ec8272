//! The data layer without a screen: `vigil tail`.

use crate::cli::TailArgs;

/// Runs `vigil tail`; returns the process exit code.
pub fn tail(_args: TailArgs) -> anyhow::Result<i32> {
    anyhow::bail!("vigil tail is not built yet")
}
