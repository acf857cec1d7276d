//! The state machines of `workflows/`, carried in the binary so `paraf serve` needs no
//! files at run time, and the function names their `${…}` placeholders resolve to locally.

use std::collections::BTreeMap;

/// `(name, ASL text)` of every workflow, named by the file stem.
pub fn definitions() -> [(&'static str, &'static str); 2] {
    [
        (
            "approval",
            include_str!("../../../workflows/approval.asl.json"),
        ),
        (
            "disposition",
            include_str!("../../../workflows/disposition.asl.json"),
        ),
    ]
}

/// Local handler names of the Lambda functions the definitions call.
pub const NOTIFY: &str = "notify";
pub const ESCALATE: &str = "escalate";
pub const SIGN: &str = "sign";

/// `DefinitionSubstitutions` for the local interpreter; `state_machine_arn` maps a
/// workflow name to the ARN the interpreter hands out.
pub fn local_substitutions(state_machine_arn: impl Fn(&str) -> String) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("NotifyFunctionArn".to_string(), NOTIFY.to_string()),
        ("EscalateFunctionArn".to_string(), ESCALATE.to_string()),
        ("SignFunctionArn".to_string(), SIGN.to_string()),
        (
            "DispositionStateMachineArn".to_string(),
            state_machine_arn("disposition"),
        ),
        (
            "ApprovalStateMachineArn".to_string(),
            state_machine_arn("approval"),
        ),
    ])
}
