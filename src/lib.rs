//! slipway: from pull request to a running service on AWS ECS Fargate, with Terraform owning the
//! infrastructure and slipway owning rollouts.
//!
//! The binary (`src/main.rs`) is a thin shell over this library so that integration tests and
//! benchmarks drive exactly the code users run.

pub mod adopt;
pub mod aws;
pub mod changed;
pub mod cli;
pub mod commands;
pub mod diag;
pub mod diff;
pub mod env;
pub mod exit;
pub mod gate;
pub mod git;
pub mod github;
pub mod live;
pub mod migrations;
pub mod naming;
pub mod output;
pub mod planfile;
pub mod render;
pub mod report;
pub mod rollout;
pub mod settings;
pub mod site;
pub mod suggest;
pub mod terraform;
pub mod workflows;
