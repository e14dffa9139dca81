//! Integration tests, one binary, split by topic.

mod contract;
mod emulator;
mod fuzz;
mod malformed;
mod render;
mod support;
mod terraform;
mod tf_plan;
mod validate;
