//! `fwgate`: the command-line release gate. This crate only wires flags to the library crates,
//! shows progress and maps outcomes to exit codes: 0 pass, 1 policy failed, 2 usage or error.
#![forbid(unsafe_code)]

mod args;
mod cmd;
mod progress;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command, EvidenceCommand, KeyCommand, RulesCommand};

/// How a command ended, when it did not fail outright.
pub enum Outcome {
    /// Exit 0.
    Pass,
    /// Exit 1: the policy is not met (or a signature did not verify).
    PolicyFailed,
}

fn main() -> ExitCode {
    // The unpacker re-runs this binary as its limited worker (see fwgate_unpack::worker).
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == fwgate_unpack::worker::WORKER_ARG)
    {
        return ExitCode::from(fwgate_unpack::worker::serve().clamp(0, 255) as u8);
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Unpack(a) => cmd::unpack::run(a),
        Command::Scan(a) => cmd::scan::run(a),
        Command::Keygen(a) => cmd::keys::keygen(a),
        Command::Sign(a) => cmd::keys::sign(a),
        Command::Verify(a) => cmd::keys::verify(a),
        Command::Key { command } => match command {
            KeyCommand::Export(a) => cmd::keys::export(a),
            KeyCommand::Import(a) => cmd::keys::import(a),
            KeyCommand::Rotate(a) => cmd::keys::rotate(a),
            KeyCommand::Revoke(a) => cmd::keys::revoke(a),
        },
        Command::Digest(a) => cmd::keys::digest(a),
        Command::Gate(a) => cmd::gate::run(a),
        Command::Hardening(a) => cmd::hardening::run(a),
        Command::Evidence { command } => match command {
            EvidenceCommand::Verify(a) => cmd::evidence::verify(a),
            EvidenceCommand::List(a) => cmd::evidence::list(a),
            EvidenceCommand::Catalog(a) => cmd::evidence::catalog(a),
            EvidenceCommand::Init(a) => cmd::evidence::init(a),
            EvidenceCommand::Add(a) => cmd::evidence::add(a),
            EvidenceCommand::Status(a) => cmd::evidence::status(a),
            EvidenceCommand::Bundle(a) => cmd::evidence::bundle(a),
        },
        Command::Rules { command } => match command {
            RulesCommand::List(a) => cmd::rules::list(a),
            RulesCommand::Test(a) => cmd::rules::test(a),
            RulesCommand::Explain(a) => cmd::rules::explain(a),
        },
        Command::Formats => cmd::unpack::formats(),
        Command::Sbom(a) => cmd::sbom::sbom(a),
        Command::Components(a) => cmd::sbom::components(a),
        Command::Vulns(a) => match a.command {
            Some(args::VulnsCommand::Recheck(r)) => cmd::sbom::recheck(r),
            Some(args::VulnsCommand::Import(i)) => cmd::advisories::import(i),
            None => cmd::sbom::vulns(a),
        },
        Command::Diff(a) => cmd::sbom::diff(a),
    };
    match result {
        Ok(Outcome::Pass) => ExitCode::SUCCESS,
        Ok(Outcome::PolicyFailed) => ExitCode::from(1),
        Err(e) => {
            eprintln!("fwgate: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
