//! hopthu: a declarative GitOps reconciler for a province's official mail
//! directory. See ARCHITECTURE.md for the pipeline and the code map.

pub mod apply;
pub mod audit;
pub mod backup;
pub mod desired;
pub mod diagnostics;
pub mod generate;
pub mod layout;
pub mod live;
pub mod messages;
pub mod model;
pub mod naming;
pub mod password;
pub mod plan;
pub mod reconcile;
pub mod render;
pub mod schema;
pub mod source;
pub mod suggest;
pub mod validate;
pub mod yaml;
