//! `slipway tf-summary`: what a Terraform plan will do, counted, with deletes first.

use std::io::Read;

use crate::cli::{Format, TfSummaryArgs};
use crate::exit::Exit;
use crate::output::Printer;
use crate::report;
use crate::terraform::{plan, Terraform};

pub fn run(s: &crate::settings::Settings, args: &TfSummaryArgs, p: &Printer) -> Exit {
    let summary = match read(s, args) {
        Ok(s) => s,
        Err(e) => {
            p.error(e);
            return Exit::Error;
        }
    };
    match (p.format, args.markdown) {
        (Format::Json, _) => p.json(&summary),
        (Format::Text, true) => p.line(report::plan::markdown(&summary)),
        (Format::Text, false) => p.line(report::plan::text(&summary).trim_end()),
    }
    if summary.errored {
        Exit::Error
    } else if args.detailed_exitcode && summary.has_changes() {
        Exit::Changes
    } else {
        Exit::Ok
    }
}

fn read(
    s: &crate::settings::Settings,
    args: &TfSummaryArgs,
) -> Result<plan::PlanSummary, Box<dyn std::error::Error>> {
    let mut file = std::fs::File::open(&args.plan)
        .map_err(|e| format!("cannot open {}: {e}", args.plan.display()))?;
    let mut magic = [0u8; 4];
    let n = file.read(&mut magic)?;
    // Saved plans are zip archives; anything else is taken to be `show -json` output.
    if n == 4 && magic == *b"PK\x03\x04" {
        let plan_path = std::fs::canonicalize(&args.plan)?;
        let tf = Terraform::new(&s.terraform, &args.root.terraform_dir, &args.workspace)?;
        return Ok(tf.show_plan(&plan_path)?);
    }
    let file = std::fs::File::open(&args.plan)?;
    Ok(plan::summarise(file, &args.plan.display().to_string())?)
}
