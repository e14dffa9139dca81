//! Presenting results: terminal tables, Markdown (PR comments, step summaries). JSON is the
//! serialised result itself and needs nothing here.

pub mod apply;
pub mod comment;
pub mod diff;
pub mod migrations;
pub mod plan;
pub mod rollout;
pub mod status;
