//! Integration tests, one binary, split by topic.

mod comment;
mod contract;
mod deploy;
mod diff;
mod emulator;
mod fuzz;
mod malformed;
mod plan;
mod render;
mod support;
mod terraform;
mod tf_plan;
mod validate;
