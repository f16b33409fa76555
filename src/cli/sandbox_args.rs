//! Arguments of `ecbulk sandbox`.

use crate::limits::WindowSpec;
use crate::sandbox::SandboxConfig;
use clap::Args;
use std::path::PathBuf;

/// `ecbulk sandbox`: serve a stand-in for the endpoint on 127.0.0.1.
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Port on 127.0.0.1; 0 picks a free one. The base URL is the first line of stdout.
    #[arg(long, default_value_t = 0, env = "ECBULK_SANDBOX_PORT")]
    pub port: u16,
}

impl SandboxArgs {
    /// The plain configuration these arguments describe.
    pub fn into_config(self) -> Result<SandboxConfig, String> {
        let _ = (WindowSpec::default(), PathBuf::new());
        Ok(SandboxConfig {
            port: self.port,
            ..SandboxConfig::default()
        })
    }
}
