//! hopthu: a declarative GitOps reconciler for a province's official mail
//! directory. See ARCHITECTURE.md for the pipeline and the code map.

pub mod apply;
pub mod audit;
pub mod audit_query;
pub mod backup;
pub mod cli_text;
pub mod codeowners;
pub mod controller;
pub mod crd;
pub mod desired;
pub mod diagnostics;
pub mod fsutil;
pub mod generate;
pub mod git;
pub mod i18n;
pub mod import;
pub mod known_hosts;
pub mod layout;
pub mod lifecycle;
pub mod live;
pub mod messages;
pub mod metrics;
pub mod model;
pub mod naming;
pub mod password;
pub mod plan;
pub mod policy_check;
pub mod prdiff;
pub mod propose;
pub mod province_report;
pub mod publish;
pub mod reconcile;
pub mod render;
pub mod report;
pub mod request;
pub mod run;
pub mod schema;
pub mod serve;
pub mod sheet;
pub mod signing;
pub mod source;
pub mod suggest;
pub mod validate;
pub mod webhook;
pub mod writer_lock;
pub mod yaml;
pub mod yamledit;
pub mod yamlout;

/// Validation and planning allocate millions of small strings and free them
/// together; mimalloc does that several times faster than the system
/// allocator, on every thread.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
