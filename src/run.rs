//! One `ecbulk run`: read, plan, send, report.

use crate::exit::Exit;
use crate::settings::RunSettings;

/// Runs the whole job and says how it ended.
pub fn run(settings: &RunSettings) -> Exit {
    let _ = settings;
    todo!("the run")
}
