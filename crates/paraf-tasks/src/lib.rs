//! Workflow task handlers: what a `Task` state of `workflows/*.asl.json` runs. Each is a
//! plain async function over the ports; `functions/<name>` wraps one in `lambda_runtime`
//! on AWS, and `paraf serve` registers the same functions with its ASL interpreter.

pub mod definitions;
pub mod notify;
pub mod preview;
pub mod sign;
pub mod travel;
