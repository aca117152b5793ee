//! hopthu: a declarative GitOps reconciler for a province's official mail
//! directory. See ARCHITECTURE.md for the pipeline and the code map.

pub mod desired;
pub mod diagnostics;
pub mod live;
pub mod messages;
pub mod model;
pub mod naming;
pub mod schema;
pub mod source;
pub mod suggest;
pub mod validate;
pub mod yaml;
