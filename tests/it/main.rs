//! Integration tests, one binary, split by topic.

mod apply;
mod bootstrap;
mod changed;
mod comment;
mod containers;
mod contract;
mod deploy;
mod diff;
mod emulator;
mod faults;
mod first_run;
mod fuzz;
mod fuzz_sql;
mod init;
mod lock;
mod malformed;
mod migrations;
mod mutate;
mod plan;
mod render;
mod sites;
mod support;
mod terraform;
mod tf_plan;
mod validate;
mod workflows;
