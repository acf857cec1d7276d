//! The error names Step Functions uses, as constants so that `Retry`/`Catch` in the ASL
//! files and the code agree (a test checks every `ErrorEquals` name is one of these).

use serde::{Deserialize, Serialize};

pub const ALL: &str = "States.ALL";
pub const TASK_FAILED: &str = "States.TaskFailed";
pub const TIMEOUT: &str = "States.Timeout";
pub const HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
pub const RUNTIME: &str = "States.Runtime";
pub const PERMISSIONS: &str = "States.Permissions";
pub const BRANCH_FAILED: &str = "States.BranchFailed";
pub const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
pub const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
pub const PARAMETER_PATH_FAILURE: &str = "States.ParameterPathFailure";
pub const RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
pub const EXCEEDED_TOLERATED_FAILURE: &str = "States.ExceedToleratedFailureThreshold";
/// What Lambda returns for a function that does not exist; locally: no handler registered.
pub const LAMBDA_RESOURCE_NOT_FOUND: &str = "Lambda.ResourceNotFoundException";
pub const LAMBDA_SERVICE: &str = "Lambda.ServiceException";
pub const LAMBDA_AWS: &str = "Lambda.AWSLambdaException";
pub const LAMBDA_SDK_CLIENT: &str = "Lambda.SdkClientException";
pub const LAMBDA_TOO_MANY_REQUESTS: &str = "Lambda.TooManyRequestsException";
pub const LAMBDA_UNKNOWN: &str = "Lambda.Unknown";
/// A human step answered with something the workflow cannot route.
pub const PARAF_INVALID_DECISION: &str = "Paraf.InvalidDecision";
/// The sign function gave up (after its retries).
pub const PARAF_SIGNING_FAILED: &str = "Paraf.SigningFailed";
/// The sign function cannot sign the input as it is (an admin fixes the cause).
pub use paraf_core::signing::ERROR_SIGN_INVALID as PARAF_SIGN_INVALID;
/// The sign function failed for a reason a retry may cure (signer, store or TSA down).
pub use paraf_core::signing::ERROR_SIGN_UNAVAILABLE as PARAF_SIGN_UNAVAILABLE;

/// Every error name a definition may rely on in `ErrorEquals`.
pub const KNOWN: &[&str] = &[
    ALL,
    TASK_FAILED,
    TIMEOUT,
    HEARTBEAT_TIMEOUT,
    RUNTIME,
    PERMISSIONS,
    BRANCH_FAILED,
    NO_CHOICE_MATCHED,
    INTRINSIC_FAILURE,
    PARAMETER_PATH_FAILURE,
    RESULT_PATH_MATCH_FAILURE,
    EXCEEDED_TOLERATED_FAILURE,
    LAMBDA_RESOURCE_NOT_FOUND,
    LAMBDA_SERVICE,
    LAMBDA_AWS,
    LAMBDA_SDK_CLIENT,
    LAMBDA_TOO_MANY_REQUESTS,
    LAMBDA_UNKNOWN,
    PARAF_INVALID_DECISION,
    PARAF_SIGNING_FAILED,
    PARAF_SIGN_UNAVAILABLE,
    PARAF_SIGN_INVALID,
];

/// A Step Functions error: the `{"Error", "Cause"}` object handed to `Catch`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{error}: {cause}")]
pub struct StatesError {
    #[serde(rename = "Error")]
    pub error: String,
    #[serde(rename = "Cause")]
    pub cause: String,
}

impl StatesError {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        StatesError {
            error: error.into(),
            cause: cause.into(),
        }
    }

    /// Does a retrier's or catcher's `ErrorEquals` list match this error? `States.ALL`
    /// matches everything but `States.Runtime`; `States.TaskFailed` matches every task
    /// failure except a timeout.
    pub fn matches(&self, names: &[String]) -> bool {
        names.iter().any(|n| {
            n == &self.error
                || (n == ALL && self.error != RUNTIME)
                || (n == TASK_FAILED
                    && self.error != TIMEOUT
                    && self.error != HEARTBEAT_TIMEOUT
                    && self.error != RUNTIME
                    && !self.error.starts_with("States."))
        })
    }

    pub fn to_value(&self) -> serde_json::Value {
        serde_json::json!({"Error": self.error, "Cause": self.cause})
    }
}
