//! The interpreter against the examples of the AWS Step Functions developer guide (each
//! test cites its page), plus refusal of what it does not implement.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use paraf_core::memory::MemoryTable;
use paraf_core::{Clock, ExecutionStatus, FixedClock, Workflows, WorkflowsError};
use paraf_local::workflows::{
    handler_fn, run_once, validate_str, AslError, Handlers, LocalWorkflows, Options, TaskError,
};
use serde_json::{json, Value};

fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock::new(
        time::macros::datetime!(2026-12-01 08:00 UTC),
    ))
}

fn engine(handlers: Handlers, clock: Arc<FixedClock>) -> LocalWorkflows {
    let opts = Options {
        seed: Some(42),
        ..Options::default()
    };
    LocalWorkflows::with_options(Arc::new(MemoryTable::new()), handlers, clock, opts)
}

async fn run_def(
    wf: &LocalWorkflows,
    def: Value,
    input: Value,
) -> (ExecutionStatus, Value, Option<String>, String) {
    wf.register("t", &def.to_string(), &BTreeMap::new())
        .unwrap_or_else(|e| panic!("{e}"));
    let id = wf
        .start_execution("t", "e1", input)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    wf.run_until_idle().await.unwrap_or_else(|e| panic!("{e}"));
    let d = wf
        .describe_execution(&id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (d.status, d.output.unwrap_or(Value::Null), d.error, id)
}

async fn output(def: Value, input: Value) -> Value {
    let (status, out, err, _) = run_def(&engine(Handlers::new(), clock()), def, input).await;
    assert_eq!(status, ExecutionStatus::Succeeded, "{err:?}");
    out
}

fn one_state(state: Value) -> Value {
    json!({"StartAt": "S", "States": {"S": state}})
}

// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-inputpath-params.html
#[tokio::test]
async fn input_path_and_parameters_give_the_guide_results() {
    let input = json!({"comment": "Example for InputPath.",
        "dataset1": {"val1": 1, "val2": 2, "val3": 3},
        "dataset2": {"val1": "a", "val2": "b", "val3": "c"}});
    let out = output(
        one_state(json!({"Type": "Pass", "InputPath": "$.dataset2", "End": true})),
        input,
    )
    .await;
    assert_eq!(out, json!({"val1": "a", "val2": "b", "val3": "c"}));

    let input = json!({"comment": "Example for Parameters.",
        "product": {"details": {"color": "blue", "size": "small", "material": "cotton"},
                    "availability": "in stock", "sku": "2317", "cost": "$23"}});
    let state = json!({"Type": "Pass", "End": true, "Parameters": {
        "comment": "Selecting what I care about.",
        "MyDetails": {"size.$": "$.product.details.size", "exists.$": "$.product.availability", "StaticValue": "foo"}}});
    assert_eq!(
        output(one_state(state), input).await,
        json!({"comment": "Selecting what I care about.",
               "MyDetails": {"size": "small", "exists": "in stock", "StaticValue": "foo"}})
    );
}

// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultpath.html
#[tokio::test]
async fn result_path_keeps_replaces_or_discards_as_the_guide_shows() {
    let input = json!({"comment": "This is a test of the input and output of a Task state.",
                       "details": "Default example", "who": "AWS Step Functions"});
    let with = |rp: Value| {
        one_state(
            json!({"Type": "Pass", "Result": "Hello, AWS Step Functions!", "ResultPath": rp, "End": true}),
        )
    };
    let mut expected = input.clone();
    expected["taskresult"] = json!("Hello, AWS Step Functions!");
    assert_eq!(
        output(with(json!("$.taskresult")), input.clone()).await,
        expected
    );
    assert_eq!(output(with(Value::Null), input.clone()).await, input);
    assert_eq!(
        output(with(json!("$")), input.clone()).await,
        json!("Hello, AWS Step Functions!")
    );
    // OutputPath selects from the combined document.
    let st = one_state(
        json!({"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.r", "OutputPath": "$.r.x", "End": true}),
    );
    assert_eq!(output(st, json!({})).await, json!(1));
}

// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-inputpath-params.html
// (ResultSelector example: keep only a part of the raw task result)
#[tokio::test]
async fn result_selector_shapes_a_lambda_result_before_result_path() {
    let mut h = Handlers::new();
    h.insert(
        "f".into(),
        handler_fn(|p: Value, _| async move { Ok(json!({"echo": p, "extra": 1})) }),
    );
    let def = one_state(
        json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "arn:aws:lambda:ap-southeast-3:1:function:f", "Payload": {"v.$": "$.v"}},
        "ResultSelector": {"got.$": "$.Payload.echo.v", "code.$": "$.StatusCode"},
        "ResultPath": "$.result", "End": true}),
    );
    let (status, out, err, _) = run_def(&engine(h, clock()), def, json!({"v": 7})).await;
    assert_eq!(status, ExecutionStatus::Succeeded, "{err:?}");
    assert_eq!(out, json!({"v": 7, "result": {"got": 7, "code": 200}}));
}

// https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html
#[tokio::test]
async fn choice_routes_by_rules_then_default_and_fails_without_either() {
    let def = |default: bool| {
        let mut c = json!({"Type": "Choice", "Choices": [
            {"Not": {"Variable": "$.type", "StringEquals": "Private"}, "Next": "Public"},
            {"Variable": "$.value", "NumericEquals": 0, "Next": "ValueIsZero"},
            {"And": [{"Variable": "$.value", "NumericGreaterThanEquals": 20},
                     {"Variable": "$.value", "NumericLessThan": 30}], "Next": "ValueInTwenties"}]});
        if default {
            c["Default"] = json!("DefaultState");
        }
        json!({"StartAt": "C", "States": {"C": c,
            "Public": {"Type": "Pass", "Result": "public", "End": true},
            "ValueIsZero": {"Type": "Pass", "Result": "zero", "End": true},
            "ValueInTwenties": {"Type": "Pass", "Result": "twenties", "End": true},
            "DefaultState": {"Type": "Pass", "Result": "default", "End": true}}})
    };
    assert_eq!(
        output(def(true), json!({"type": "Public", "value": 0})).await,
        json!("public")
    );
    assert_eq!(
        output(def(true), json!({"type": "Private", "value": 0})).await,
        json!("zero")
    );
    assert_eq!(
        output(def(true), json!({"type": "Private", "value": 25})).await,
        json!("twenties")
    );
    assert_eq!(
        output(def(true), json!({"type": "Private", "value": 99})).await,
        json!("default")
    );
    let (status, _, err, _) = run_def(
        &engine(Handlers::new(), clock()),
        def(false),
        json!({"type": "Private", "value": 99}),
    )
    .await;
    assert_eq!(
        (status, err.as_deref()),
        (ExecutionStatus::Failed, Some("States.NoChoiceMatched"))
    );
}

// https://docs.aws.amazon.com/step-functions/latest/dg/state-wait.html
#[tokio::test]
async fn wait_states_sleep_on_the_clock_for_seconds_and_until_timestamps() {
    let c = clock();
    let wf = engine(Handlers::new(), c.clone());
    let def = json!({"StartAt": "W1", "States": {
        "W1": {"Type": "Wait", "Seconds": 10, "Next": "W2"},
        "W2": {"Type": "Wait", "SecondsPath": "$.s", "Next": "W3"},
        "W3": {"Type": "Wait", "TimestampPath": "$.until", "Next": "W4"},
        "W4": {"Type": "Wait", "Timestamp": "2026-12-01T09:00:00Z", "End": true}}});
    let (status, _, _, id) =
        run_def(&wf, def, json!({"s": 5, "until": "2026-12-01T08:30:00Z"})).await;
    assert_eq!(status, ExecutionStatus::Running);
    c.advance(time::Duration::seconds(10));
    wf.run_until_idle().await.unwrap_or_else(|e| panic!("{e}"));
    c.advance(time::Duration::seconds(5));
    wf.run_until_idle().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        wf.describe_execution(&id).await.map(|d| d.status),
        Ok(ExecutionStatus::Running)
    );
    c.advance(time::Duration::minutes(60));
    wf.run_until_idle().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        wf.describe_execution(&id).await.map(|d| d.status),
        Ok(ExecutionStatus::Succeeded)
    );
}

// https://docs.aws.amazon.com/step-functions/latest/dg/state-parallel.html and
// https://docs.aws.amazon.com/step-functions/latest/dg/state-map-inline.html
#[tokio::test]
async fn parallel_and_map_collect_branch_results_in_order() {
    let def = json!({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "ResultPath": "$.par", "Next": "M", "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": "a", "End": true}}},
            {"StartAt": "B", "States": {"B": {"Type": "Pass", "InputPath": "$.n", "End": true}}}]},
        "M": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 1,
              "ItemSelector": {"i.$": "$$.Map.Item.Index", "v.$": "$$.Map.Item.Value", "n.$": "$.n"},
              "Iterator": {"StartAt": "Double", "States": {
                  "Double": {"Type": "Pass", "Parameters": {"r.$": "States.MathAdd($.v, $.v)", "i.$": "$.i"}, "End": true}}},
              "ResultSelector": {"all.$": "$"},
              "ResultPath": "$.map", "End": true}}});
    let out = output(def, json!({"n": 3, "items": [1, 2, 3]})).await;
    assert_eq!(out["par"], json!(["a", 3]));
    assert_eq!(
        out["map"]["all"],
        json!([{"r": 2, "i": 0}, {"r": 4, "i": 1}, {"r": 6, "i": 2}])
    );
}

// https://docs.aws.amazon.com/step-functions/latest/dg/state-fail.html
#[tokio::test]
async fn a_fail_state_ends_the_execution_with_its_error_and_cause() {
    let def = one_state(json!({"Type": "Fail", "ErrorPath": "$.e", "Cause": "Invalid response."}));
    let wf = engine(Handlers::new(), clock());
    let (status, _, err, id) = run_def(&wf, def, json!({"e": "ErrorA"})).await;
    assert_eq!(
        (status, err.as_deref()),
        (ExecutionStatus::Failed, Some("ErrorA"))
    );
    let d = wf
        .describe_execution(&id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.cause.as_deref(), Some("Invalid response."));
    let kinds: Vec<String> = wf
        .get_execution_history(&id)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        ["ExecutionStarted", "FailStateEntered", "ExecutionFailed"]
    );
}

// https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
// (retry intervals: IntervalSeconds × BackoffRate^n, capped by MaxDelaySeconds)
#[tokio::test]
async fn retry_waits_with_backoff_on_the_clock_and_then_succeeds() {
    let calls = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = calls.clone();
    let mut h = Handlers::new();
    h.insert(
        "flaky".into(),
        handler_fn(move |_, ctx| {
            let seen = seen.clone();
            async move {
                let mut s = seen.lock().unwrap_or_else(|p| p.into_inner());
                s.push(ctx.idempotency_key.clone());
                if s.len() < 3 {
                    Err(TaskError::new("Boom", "not yet"))
                } else {
                    Ok(json!("done"))
                }
            }
        }),
    );
    let c = clock();
    let wf = engine(h, c.clone());
    let def = one_state(
        json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "flaky", "Payload": {}}, "OutputPath": "$.Payload",
        "Retry": [{"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 3, "MaxDelaySeconds": 5}],
        "End": true}),
    );
    let (status, _, _, id) = run_def(&wf, def, json!({})).await;
    assert_eq!(status, ExecutionStatus::Running);
    assert_eq!(calls.lock().map(|c| c.len()).unwrap_or(0), 1);
    c.advance(time::Duration::milliseconds(1999));
    wf.run_until_idle().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        calls.lock().map(|c| c.len()).unwrap_or(0),
        1,
        "2 s have not passed"
    );
    c.advance(time::Duration::milliseconds(1));
    wf.run_until_idle().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(calls.lock().map(|c| c.len()).unwrap_or(0), 2);
    // 2 × 3 = 6 s, capped at MaxDelaySeconds 5.
    c.advance(time::Duration::seconds(5));
    wf.run_until_idle().await.unwrap_or_else(|e| panic!("{e}"));
    let d = wf
        .describe_execution(&id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (d.status, d.output),
        (ExecutionStatus::Succeeded, Some(json!("done")))
    );
    let keys = calls.lock().map(|c| c.clone()).unwrap_or_default();
    assert!(
        keys[0].ends_with("#0") && keys[1].ends_with("#1") && keys[2].ends_with("#2"),
        "{keys:?}"
    );
}

// https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
// (Catch with ResultPath "$.error-info" keeps the input and adds {"Error","Cause"})
#[tokio::test]
async fn catch_routes_the_error_object_to_the_fallback_state() {
    let mut h = Handlers::new();
    h.insert(
        "bad".into(),
        handler_fn(|_, _| async { Err(TaskError::new("CustomError", "This is a custom error!")) }),
    );
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:lambda:ap-southeast-3:1:function:bad",
              "Catch": [{"ErrorEquals": ["CustomError"], "ResultPath": "$.error-info", "Next": "Fallback"}], "End": true},
        "Fallback": {"Type": "Pass", "End": true}}});
    let (status, out, _, _) = run_def(&engine(h, clock()), def, json!({"foo": "bar"})).await;
    assert_eq!(status, ExecutionStatus::Succeeded);
    assert_eq!(
        out,
        json!({"foo": "bar", "error-info": {"Error": "CustomError", "Cause": "This is a custom error!"}})
    );
}

type Sink = Arc<Mutex<Vec<(Value, String)>>>;

fn token_sink() -> (Handlers, Sink) {
    let sink = Arc::new(Mutex::new(Vec::new()));
    let s = sink.clone();
    let mut h = Handlers::new();
    h.insert(
        "notify".into(),
        handler_fn(move |p: Value, ctx| {
            let s = s.clone();
            async move {
                s.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((p, ctx.task_token.unwrap_or_default()));
                Ok(json!({}))
            }
        }),
    );
    (h, sink)
}

fn last_token(sink: &Sink) -> String {
    sink.lock()
        .ok()
        .and_then(|s| s.last().map(|x| x.1.clone()))
        .unwrap_or_default()
}

fn callback(extra: Value) -> Value {
    let mut t = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": "notify", "Payload": {"token.$": "$$.Task.Token"}},
        "Catch": [{"ErrorEquals": ["States.Timeout", "States.HeartbeatTimeout"], "Next": "Late"}],
        "End": true});
    if let (Some(t), Value::Object(e)) = (t.as_object_mut(), extra) {
        t.extend(e);
    }
    json!({"StartAt": "T", "States": {"T": t, "Late": {"Type": "Pass", "Result": "late", "End": true}}})
}

// https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html#connect-wait-token
#[tokio::test]
async fn a_task_token_is_answered_once_and_unknown_tokens_are_invalid() {
    let (h, sink) = token_sink();
    let wf = engine(h, clock());
    let (status, _, _, id) = run_def(&wf, callback(json!({})), json!({})).await;
    assert_eq!(status, ExecutionStatus::Running);
    let token = last_token(&sink);
    assert_eq!(
        sink.lock().map(|s| s[0].0["token"].clone()).ok(),
        Some(json!(token.clone()))
    );
    assert_eq!(
        wf.send_task_success("nope", json!(1)).await,
        Err(WorkflowsError::InvalidToken)
    );
    assert_eq!(wf.send_task_heartbeat(&token).await, Ok(()));
    assert_eq!(
        wf.send_task_success(&token, json!({"ok": true})).await,
        Ok(())
    );
    assert_eq!(
        wf.send_task_success(&token, json!({"ok": 2})).await,
        Err(WorkflowsError::TaskDoesNotExist)
    );
    wf.run_until_idle().await.unwrap_or_else(|e| panic!("{e}"));
    let d = wf
        .describe_execution(&id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (d.status, d.output),
        (ExecutionStatus::Succeeded, Some(json!({"ok": true})))
    );
    assert_eq!(
        wf.send_task_failure(&token, "E", "c").await,
        Err(WorkflowsError::TaskDoesNotExist)
    );
    let kinds: Vec<String> = wf
        .get_execution_history(&id)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    for k in [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskSubmitted",
        "TaskSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ] {
        assert!(kinds.iter().any(|x| x == k), "{k} missing from {kinds:?}");
    }
}

#[tokio::test]
async fn a_callback_times_out_on_the_clock_and_a_late_answer_is_refused() {
    let (h, sink) = token_sink();
    let c = clock();
    let wf = engine(h, c.clone());
    let (_, _, _, id) = run_def(&wf, callback(json!({"TimeoutSeconds": 60})), json!({})).await;
    let token = last_token(&sink);
    c.advance(time::Duration::seconds(61));
    assert_eq!(
        wf.send_task_success(&token, json!(1)).await,
        Err(WorkflowsError::TaskTimedOut)
    );
    wf.run_until_idle().await.unwrap_or_else(|e| panic!("{e}"));
    let d = wf
        .describe_execution(&id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (d.status, d.output),
        (ExecutionStatus::Succeeded, Some(json!("late")))
    );
    assert_eq!(
        wf.send_task_success(&token, json!(1)).await,
        Err(WorkflowsError::TaskTimedOut)
    );
}

#[tokio::test]
async fn a_missed_heartbeat_fails_the_task_with_heartbeat_timeout() {
    let (h, sink) = token_sink();
    let c = clock();
    let wf = engine(h, c.clone());
    let def = callback(
        json!({"TimeoutSeconds": 600, "HeartbeatSeconds": 60, "Catch": [
        {"ErrorEquals": ["States.HeartbeatTimeout"], "ResultPath": "$.why", "Next": "Late"}]}),
    );
    let (_, _, _, id) = run_def(&wf, def, json!({})).await;
    let token = last_token(&sink);
    c.advance(time::Duration::seconds(50));
    assert_eq!(wf.send_task_heartbeat(&token).await, Ok(()));
    c.advance(time::Duration::seconds(50));
    wf.run_until_idle().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        wf.describe_execution(&id).await.map(|d| d.status),
        Ok(ExecutionStatus::Running),
        "the heartbeat moved the deadline"
    );
    c.advance(time::Duration::seconds(11));
    wf.run_until_idle().await.unwrap_or_else(|e| panic!("{e}"));
    let d = wf
        .describe_execution(&id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.status, ExecutionStatus::Succeeded);
    let kinds: Vec<String> = wf
        .get_execution_history(&id)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert!(kinds.contains(&"TaskTimedOut".to_string()), "{kinds:?}");
}

#[tokio::test]
async fn a_lambda_task_past_its_timeout_seconds_fails_with_states_timeout() {
    let mut h = Handlers::new();
    h.insert(
        "slow".into(),
        handler_fn(|_, _| async {
            tokio::time::sleep(std::time::Duration::from_secs(30)).await;
            Ok(json!(1))
        }),
    );
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "TimeoutSeconds": 1,
              "Parameters": {"FunctionName": "slow"},
              "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "Late"}], "End": true},
        "Late": {"Type": "Pass", "Result": "late", "End": true}}});
    let (status, out, _, _) = run_def(&engine(h, clock()), def, json!({})).await;
    assert_eq!((status, out), (ExecutionStatus::Succeeded, json!("late")));
}

#[tokio::test]
async fn the_execution_name_is_an_idempotency_key() {
    let wf = engine(Handlers::new(), clock());
    let def = one_state(json!({"Type": "Wait", "Seconds": 100, "End": true}));
    wf.register("t", &def.to_string(), &BTreeMap::new())
        .unwrap_or_else(|e| panic!("{e}"));
    let a = wf.start_execution("t", "n1", json!({"a": 1})).await;
    assert_eq!(
        wf.start_execution("t", "n1", json!({"a": 1})).await,
        a.clone()
    );
    assert_eq!(
        wf.start_execution("t", "n1", json!({"a": 2})).await,
        Err(WorkflowsError::ExecutionAlreadyExists("n1".into()))
    );
    assert!(matches!(
        wf.start_execution("missing", "n1", json!({})).await,
        Err(WorkflowsError::StateMachineDoesNotExist(_))
    ));
    let id = a.unwrap_or_default();
    assert_eq!(wf.stop_execution(&id, "Stopped", "by a test").await, Ok(()));
    let d = wf
        .describe_execution(&id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (d.status, d.error.as_deref()),
        (ExecutionStatus::Aborted, Some("Stopped"))
    );
    assert!(matches!(
        wf.describe_execution("nope").await,
        Err(WorkflowsError::ExecutionDoesNotExist(_))
    ));
}

#[tokio::test]
async fn run_once_names_the_function_that_has_no_handler() {
    let def = one_state(
        json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "${SignFunctionArn}"}, "End": true}),
    );
    let subs = BTreeMap::from([(
        "SignFunctionArn".to_string(),
        "arn:aws:lambda:ap-southeast-3:1:function:sign".to_string(),
    )]);
    let err = run_once(&def.to_string(), &subs, json!({}), Handlers::new())
        .await
        .err();
    let err = err.unwrap_or_else(|| panic!("must fail"));
    assert_eq!(err.error, "Lambda.ResourceNotFoundException");
    assert!(err.cause.contains("function:sign"), "{}", err.cause);
    let calls = Arc::new(AtomicUsize::new(0));
    let n = calls.clone();
    let mut h = Handlers::new();
    h.insert(
        "sign".into(),
        handler_fn(move |_, _| {
            n.fetch_add(1, Ordering::SeqCst);
            async { Ok(json!("signed")) }
        }),
    );
    let out = run_once(&def.to_string(), &subs, json!({}), h).await;
    assert_eq!(out.map(|v| v["Payload"].clone()), Ok(json!("signed")));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn unsupported_features_are_refused_naming_state_and_field() {
    let cases = [
        (
            one_state(json!({"Type": "Pass", "End": true, "Assign": {"x": 1}})),
            "S",
            "Assign",
        ),
        (
            one_state(json!({"Type": "Pause", "End": true})),
            "S",
            "Type",
        ),
        (
            one_state(
                json!({"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": true}),
            ),
            "S",
            "Resource",
        ),
        (
            one_state(json!({"Type": "Pass", "QueryLanguage": "JSONata", "End": true})),
            "S",
            "QueryLanguage",
        ),
        (
            one_state(
                json!({"Type": "Pass", "Parameters": {"x.$": "States.Nope($.a)"}, "End": true}),
            ),
            "S",
            "Parameters",
        ),
        (
            one_state(json!({"Type": "Pass", "InputPath": "$..a", "End": true})),
            "S",
            "InputPath",
        ),
        (
            one_state(json!({"Type": "Pass", "Next": "Nowhere"})),
            "S",
            "Next",
        ),
        (
            json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED"}, "StartAt": "X", "States": {"X": {"Type": "Succeed"}}}}}}),
            "M/ItemProcessor",
            "ProcessorConfig",
        ),
        (
            json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "ItemReader": {}, "Iterator": {
            "StartAt": "X", "States": {"X": {"Type": "Succeed"}}}}}}),
            "M",
            "ItemReader",
        ),
        (
            one_state(
                json!({"Type": "Choice", "Choices": [{"Variable": "$.a", "StringContains": "x", "Next": "S"}]}),
            ),
            "S",
            "Choices[0].StringContains",
        ),
    ];
    for (def, state, field) in cases {
        match validate_str(&def.to_string()) {
            Err(AslError::Field {
                state: s, field: f, ..
            }) => assert_eq!((s.as_str(), f.as_str()), (state, field), "{def}"),
            other => panic!("{def}: expected a refusal naming {state}/{field}, got {other:?}"),
        }
    }
    let jsonata =
        json!({"QueryLanguage": "JSONata", "StartAt": "S", "States": {"S": {"Type": "Succeed"}}});
    assert!(matches!(
        validate_str(&jsonata.to_string()),
        Err(AslError::TopLevel { .. })
    ));
}

#[test]
fn a_placeholder_without_a_value_is_refused_when_registering() {
    let wf = engine(Handlers::new(), clock());
    let def = one_state(
        json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "${Missing}"}, "End": true}),
    );
    assert_eq!(
        wf.register("t", &def.to_string(), &BTreeMap::new()),
        Err(AslError::Substitution("Missing".into()))
    );
    let _ = Clock::now(&*clock());
}
