//! Rollouts: verify → (migrate) → register → update → wait → smoke → roll back on failure.
//!
//! slipway owns rollouts; Terraform owns the infrastructure (its ecs-service module ignores
//! `task_definition` and `desired_count`). A deploy changes task definitions only, and creates
//! services that do not exist yet.

pub mod engine;
pub mod history;
pub mod interrupt;
pub mod migrate;
pub mod notify;
pub mod progress;
pub mod promote;
pub mod smoke;
pub mod status;
pub mod verify;
pub mod wait;
