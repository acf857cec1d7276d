//! The typed model of an ASL definition. Parsing is strict: a field this interpreter
//! does not implement is an error naming the state and the field, because a silently
//! ignored field would make the local run differ from Step Functions.

use std::collections::{BTreeMap, HashMap, HashSet};

use rand::RngCore;
use serde_json::{Map, Value};

use super::choice::{parse_rule, Rule};
use super::errors::{StatesError, PARAMETER_PATH_FAILURE};
use super::intrinsics::{self, Call, Env};
use super::path::JsonPath;
use super::AslError;

pub const LAMBDA_INVOKE: &str = "arn:aws:states:::lambda:invoke";
pub const LAMBDA_INVOKE_CALLBACK: &str = "arn:aws:states:::lambda:invoke.waitForTaskToken";
pub const START_EXECUTION_SYNC2: &str = "arn:aws:states:::states:startExecution.sync:2";

#[derive(Debug, Clone)]
pub struct StateMachine {
    pub start_at: String,
    pub states: HashMap<String, State>,
    pub timeout_seconds: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct State {
    pub name: String,
    /// `None`: `$` (the default); `Some(None)`: `null`, i.e. `{}`.
    pub input_path: Option<Option<JsonPath>>,
    pub output_path: Option<Option<JsonPath>>,
    /// `None` means `End: true` (or a terminal state type).
    pub next: Option<String>,
    pub kind: Kind,
}

#[derive(Debug, Clone)]
pub enum ResultPath {
    Default,
    Discard,
    Path(JsonPath),
}

impl ResultPath {
    /// Combines the raw state input and a result as `ResultPath` says.
    pub fn apply(&self, input: &Value, result: Value) -> Result<Value, StatesError> {
        match self {
            ResultPath::Default => Ok(result),
            ResultPath::Discard => Ok(input.clone()),
            ResultPath::Path(p) => p
                .set(input.clone(), result)
                .map_err(|m| StatesError::new(super::errors::RESULT_PATH_MATCH_FAILURE, m)),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Retrier {
    pub error_equals: Vec<String>,
    pub interval_seconds: f64,
    pub max_attempts: u32,
    pub backoff_rate: f64,
    pub max_delay_seconds: Option<f64>,
    pub full_jitter: bool,
}

#[derive(Debug, Clone)]
pub struct Catcher {
    pub error_equals: Vec<String>,
    pub next: String,
    pub result_path: ResultPath,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    LambdaInvoke,
    LambdaCallback,
    StartExecutionSync2,
    /// A plain Lambda function ARN (or an unresolved `${…}` placeholder of one).
    LambdaArn(String),
}

#[derive(Debug, Clone)]
pub enum Seconds {
    Fixed(u64),
    Path(JsonPath),
}

#[derive(Debug, Clone)]
pub struct Task {
    pub resource: Resource,
    pub parameters: Option<Template>,
    pub result_selector: Option<Template>,
    pub result_path: ResultPath,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
    pub timeout: Option<Seconds>,
    pub heartbeat: Option<Seconds>,
}

#[derive(Debug, Clone)]
pub enum WaitFor {
    Seconds(u64),
    Timestamp(String),
    SecondsPath(JsonPath),
    TimestampPath(JsonPath),
}

#[derive(Debug, Clone)]
pub struct Branching {
    pub parameters: Option<Template>,
    pub result_selector: Option<Template>,
    pub result_path: ResultPath,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
}

#[derive(Debug, Clone)]
pub enum Kind {
    Pass {
        result: Option<Value>,
        parameters: Option<Template>,
        result_path: ResultPath,
    },
    Task(Box<Task>),
    Choice {
        choices: Vec<(Rule, String)>,
        default: Option<String>,
    },
    Wait(WaitFor),
    Succeed,
    Fail {
        error: Option<String>,
        cause: Option<String>,
        error_path: Option<JsonPath>,
        cause_path: Option<JsonPath>,
    },
    Parallel {
        branches: Vec<StateMachine>,
        common: Box<Branching>,
    },
    Map {
        items_path: Option<JsonPath>,
        item_selector: Option<Template>,
        max_concurrency: u32,
        processor: Box<StateMachine>,
        common: Box<Branching>,
    },
}

impl Kind {
    pub fn type_name(&self) -> &'static str {
        match self {
            Kind::Pass { .. } => "Pass",
            Kind::Task(_) => "Task",
            Kind::Choice { .. } => "Choice",
            Kind::Wait(_) => "Wait",
            Kind::Succeed => "Succeed",
            Kind::Fail { .. } => "Fail",
            Kind::Parallel { .. } => "Parallel",
            Kind::Map { .. } => "Map",
        }
    }
}

/// A payload template (`Parameters`, `ItemSelector`, `ResultSelector`): keys ending in
/// `.$` take a path or an intrinsic, compiled at load.
#[derive(Debug, Clone)]
pub enum Template {
    Literal(Value),
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
    Path(JsonPath),
    Intrinsic(Call),
}

impl Template {
    pub fn parse(v: &Value) -> Result<Template, String> {
        match v {
            Value::Object(m) => {
                let mut out = Vec::new();
                for (k, v) in m {
                    if let Some(name) = k.strip_suffix(".$") {
                        let Value::String(s) = v else {
                            return Err(format!("`{k}` must be a string path or intrinsic"));
                        };
                        let t = if intrinsics::is_intrinsic(s) {
                            Template::Intrinsic(
                                intrinsics::parse(s).map_err(|m| format!("`{k}`: {m}"))?,
                            )
                        } else {
                            Template::Path(JsonPath::parse(s).map_err(|m| format!("`{k}`: {m}"))?)
                        };
                        out.push((name.to_string(), t));
                    } else {
                        out.push((k.clone(), Template::parse(v)?));
                    }
                }
                Ok(Template::Object(out))
            }
            Value::Array(a) => Ok(Template::Array(
                a.iter().map(Template::parse).collect::<Result<_, _>>()?,
            )),
            other => Ok(Template::Literal(other.clone())),
        }
    }

    pub fn eval(
        &self,
        input: &Value,
        context: &Value,
        rng: &mut dyn RngCore,
    ) -> Result<Value, StatesError> {
        match self {
            Template::Literal(v) => Ok(v.clone()),
            Template::Object(fields) => {
                let mut m = Map::new();
                for (k, t) in fields {
                    m.insert(k.clone(), t.eval(input, context, rng)?);
                }
                Ok(Value::Object(m))
            }
            Template::Array(items) => Ok(Value::Array(
                items
                    .iter()
                    .map(|t| t.eval(input, context, rng))
                    .collect::<Result<_, _>>()?,
            )),
            Template::Path(p) => {
                let root = if p.context { context } else { input };
                p.select(root).ok_or_else(|| {
                    StatesError::new(
                        PARAMETER_PATH_FAILURE,
                        format!(
                            "The JSONPath '{}' could not be found in the input",
                            p.source
                        ),
                    )
                })
            }
            Template::Intrinsic(c) => c.eval(&mut Env {
                input,
                context,
                rng,
            }),
        }
    }

    /// The literal value of a field, if the template has it as a literal (used to find
    /// `FunctionName`/`StateMachineArn` at load).
    pub fn literal_field(&self, name: &str) -> Option<&Value> {
        match self {
            Template::Object(fields) => fields.iter().find_map(|(k, t)| match t {
                Template::Literal(v) if k == name => Some(v),
                _ => None,
            }),
            _ => None,
        }
    }
}

/// Replaces `${Name}` in every string of the definition. Unknown names are an error when
/// `strict`; otherwise (plain validation, as in CI) they stay as they are.
pub fn substitute(
    v: &mut Value,
    subs: &BTreeMap<String, String>,
    strict: bool,
) -> Result<(), AslError> {
    match v {
        Value::String(s) => {
            if !s.contains("${") {
                return Ok(());
            }
            let mut out = String::new();
            let mut rest = s.as_str();
            while let Some(start) = rest.find("${") {
                out.push_str(&rest[..start]);
                let after = &rest[start + 2..];
                let Some(end) = after.find('}') else {
                    out.push_str(&rest[start..]);
                    rest = "";
                    break;
                };
                let name = &after[..end];
                match subs.get(name) {
                    Some(val) => out.push_str(val),
                    None if strict => return Err(AslError::Substitution(name.to_string())),
                    None => out.push_str(&rest[start..start + 3 + end]),
                }
                rest = &after[end + 1..];
            }
            out.push_str(rest);
            *s = out;
            Ok(())
        }
        Value::Array(a) => a.iter_mut().try_for_each(|x| substitute(x, subs, strict)),
        Value::Object(m) => m.values_mut().try_for_each(|x| substitute(x, subs, strict)),
        _ => Ok(()),
    }
}

struct Fields<'a> {
    state: &'a str,
    obj: &'a Map<String, Value>,
}

impl<'a> Fields<'a> {
    fn err(&self, field: &str, message: impl Into<String>) -> AslError {
        AslError::Field {
            state: self.state.to_string(),
            field: field.to_string(),
            message: message.into(),
        }
    }
    fn get(&self, f: &str) -> Option<&'a Value> {
        self.obj.get(f)
    }
    fn string(&self, f: &str) -> Result<Option<String>, AslError> {
        match self.obj.get(f) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.err(f, "must be a string")),
        }
    }
    fn uint(&self, f: &str) -> Result<Option<u64>, AslError> {
        match self.obj.get(f) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| self.err(f, "must be a non-negative integer")),
        }
    }
    fn number(&self, f: &str) -> Result<Option<f64>, AslError> {
        match self.obj.get(f) {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| self.err(f, "must be a number")),
        }
    }
    fn path(&self, f: &str, reference: bool) -> Result<Option<JsonPath>, AslError> {
        match self.string(f)? {
            None => Ok(None),
            Some(s) => {
                let p = JsonPath::parse(&s).map_err(|m| self.err(f, m))?;
                if reference && !p.is_reference() {
                    return Err(self.err(f, "must be a reference path (no wildcard or slice)"));
                }
                Ok(Some(p))
            }
        }
    }
    /// `InputPath`/`OutputPath`: absent = `$`, `null` = `{}`.
    fn io_path(&self, f: &str) -> Result<Option<Option<JsonPath>>, AslError> {
        match self.obj.get(f) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(_) => Ok(Some(self.path(f, false)?)),
        }
    }
    fn result_path(&self, f: &str) -> Result<ResultPath, AslError> {
        match self.obj.get(f) {
            None => Ok(ResultPath::Default),
            Some(Value::Null) => Ok(ResultPath::Discard),
            Some(_) => Ok(self
                .path(f, true)?
                .map(ResultPath::Path)
                .unwrap_or(ResultPath::Default)),
        }
    }
    fn template(&self, f: &str) -> Result<Option<Template>, AslError> {
        match self.obj.get(f) {
            None => Ok(None),
            Some(v @ Value::Object(_)) => Template::parse(v).map(Some).map_err(|m| self.err(f, m)),
            Some(_) => Err(self.err(f, "must be an object")),
        }
    }
}

const COMMON: &[&str] = &["Type", "Comment", "QueryLanguage"];

fn allowed(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "Pass" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "Result",
        ],
        "Task" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "ResultSelector",
            "Resource",
            "Retry",
            "Catch",
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            "HeartbeatSeconds",
            "HeartbeatSecondsPath",
        ],
        "Choice" => &["InputPath", "OutputPath", "Choices", "Default"],
        "Wait" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Seconds",
            "Timestamp",
            "SecondsPath",
            "TimestampPath",
        ],
        "Succeed" => &["InputPath", "OutputPath"],
        "Fail" => &["Error", "Cause", "ErrorPath", "CausePath"],
        "Parallel" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "ResultSelector",
            "Retry",
            "Catch",
            "Branches",
        ],
        "Map" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "ResultSelector",
            "Retry",
            "Catch",
            "ItemsPath",
            "ItemSelector",
            "MaxConcurrency",
            "Iterator",
            "ItemProcessor",
        ],
        _ => return None,
    })
}

/// Parses a whole definition (after substitution).
pub fn parse_definition(v: &Value) -> Result<StateMachine, AslError> {
    let sm = parse_machine(v, "")?;
    Ok(sm)
}

fn top_err(scope: &str, field: &str, message: impl Into<String>) -> AslError {
    if scope.is_empty() {
        AslError::TopLevel {
            field: field.to_string(),
            message: message.into(),
        }
    } else {
        AslError::Field {
            state: scope.to_string(),
            field: field.to_string(),
            message: message.into(),
        }
    }
}

/// `scope` names the enclosing state (`Map1/Iterator`) for nested machines.
fn parse_machine(v: &Value, scope: &str) -> Result<StateMachine, AslError> {
    let Value::Object(obj) = v else {
        return Err(top_err(scope, "(definition)", "must be a JSON object"));
    };
    for k in obj.keys() {
        let ok = matches!(
            k.as_str(),
            "StartAt"
                | "States"
                | "Comment"
                | "Version"
                | "TimeoutSeconds"
                | "QueryLanguage"
                | "ProcessorConfig"
        );
        if !ok {
            return Err(top_err(scope, k, "unknown or unsupported field"));
        }
    }
    if let Some(q) = obj.get("QueryLanguage") {
        if q != "JSONPath" {
            return Err(top_err(
                scope,
                "QueryLanguage",
                "only JSONPath is supported (JSONata is not)",
            ));
        }
    }
    if let Some(pc) = obj.get("ProcessorConfig") {
        // Only an ItemProcessor may carry it; INLINE is the classic Map.
        let mode = pc.get("Mode").and_then(Value::as_str).unwrap_or("INLINE");
        let extra = pc
            .as_object()
            .map(|m| m.keys().any(|k| k != "Mode"))
            .unwrap_or(true);
        if scope.is_empty() || mode != "INLINE" || extra {
            return Err(top_err(
                scope,
                "ProcessorConfig",
                "only {\"Mode\": \"INLINE\"} inside a Map is supported",
            ));
        }
    }
    let start_at = match obj.get("StartAt") {
        Some(Value::String(s)) => s.clone(),
        _ => return Err(top_err(scope, "StartAt", "missing or not a string")),
    };
    let Some(Value::Object(states_obj)) = obj.get("States") else {
        return Err(top_err(scope, "States", "missing or not an object"));
    };
    let timeout_seconds = match obj.get("TimeoutSeconds") {
        None => None,
        Some(t) => Some(
            t.as_u64()
                .ok_or_else(|| top_err(scope, "TimeoutSeconds", "must be a positive integer"))?,
        ),
    };
    let mut states = HashMap::new();
    for (name, sv) in states_obj {
        let qualified = if scope.is_empty() {
            name.clone()
        } else {
            format!("{scope}/{name}")
        };
        let st = parse_state(name, &qualified, sv)?;
        states.insert(name.clone(), st);
    }
    if !states.contains_key(&start_at) {
        return Err(top_err(
            scope,
            "StartAt",
            format!("state `{start_at}` does not exist"),
        ));
    }
    // Every transition must land on a state of this same scope.
    for st in states.values() {
        let mut targets: Vec<(&str, &String)> = Vec::new();
        if let Some(n) = &st.next {
            targets.push(("Next", n));
        }
        match &st.kind {
            Kind::Choice { choices, default } => {
                targets.extend(choices.iter().map(|(_, n)| ("Choices", n)));
                if let Some(d) = default {
                    targets.push(("Default", d));
                }
            }
            Kind::Task(t) => targets.extend(t.catch.iter().map(|c| ("Catch", &c.next))),
            Kind::Parallel { common, .. } | Kind::Map { common, .. } => {
                targets.extend(common.catch.iter().map(|c| ("Catch", &c.next)))
            }
            _ => {}
        }
        for (field, t) in targets {
            if !states.contains_key(t) {
                let q = if scope.is_empty() {
                    st.name.clone()
                } else {
                    format!("{scope}/{}", st.name)
                };
                return Err(AslError::Field {
                    state: q,
                    field: field.into(),
                    message: format!("state `{t}` does not exist"),
                });
            }
        }
    }
    Ok(StateMachine {
        start_at,
        states,
        timeout_seconds,
    })
}

fn parse_state(name: &str, qualified: &str, v: &Value) -> Result<State, AslError> {
    let Value::Object(obj) = v else {
        return Err(AslError::Field {
            state: qualified.into(),
            field: "(state)".into(),
            message: "must be a JSON object".into(),
        });
    };
    let f = Fields {
        state: qualified,
        obj,
    };
    let ty = f.string("Type")?.ok_or_else(|| f.err("Type", "missing"))?;
    let Some(extra) = allowed(&ty) else {
        return Err(f.err("Type", format!("unsupported state type `{ty}`")));
    };
    for k in obj.keys() {
        if !COMMON.contains(&k.as_str()) && !extra.contains(&k.as_str()) {
            return Err(f.err(k, "unknown or unsupported field"));
        }
    }
    if let Some(q) = obj.get("QueryLanguage") {
        if q != "JSONPath" {
            return Err(f.err(
                "QueryLanguage",
                "only JSONPath is supported (JSONata is not)",
            ));
        }
    }
    let next = f.string("Next")?;
    let end = match f.get("End") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(f.err("End", "must be a boolean")),
    };
    let terminal = matches!(ty.as_str(), "Choice" | "Succeed" | "Fail");
    if !terminal {
        match (&next, end) {
            (Some(_), true) => return Err(f.err("End", "a state has either Next or End: true")),
            (None, false) => return Err(f.err("Next", "a state needs Next or End: true")),
            _ => {}
        }
    }
    let kind = match ty.as_str() {
        "Pass" => Kind::Pass {
            result: f.get("Result").cloned(),
            parameters: f.template("Parameters")?,
            result_path: f.result_path("ResultPath")?,
        },
        "Task" => Kind::Task(Box::new(parse_task(&f)?)),
        "Choice" => {
            let Some(Value::Array(rules)) = f.get("Choices") else {
                return Err(f.err("Choices", "missing or not an array"));
            };
            if rules.is_empty() {
                return Err(f.err("Choices", "must not be empty"));
            }
            let mut choices = Vec::new();
            for (i, r) in rules.iter().enumerate() {
                let next = r
                    .get("Next")
                    .and_then(Value::as_str)
                    .ok_or_else(|| f.err(&format!("Choices[{i}].Next"), "missing"))?;
                let rule = parse_rule(r, true).map_err(|(field, m)| {
                    f.err(
                        &format!(
                            "Choices[{i}]{}{field}",
                            if field.is_empty() { "" } else { "." }
                        ),
                        m,
                    )
                })?;
                choices.push((rule, next.to_string()));
            }
            Kind::Choice {
                choices,
                default: f.string("Default")?,
            }
        }
        "Wait" => {
            let mut found = Vec::new();
            if let Some(s) = f.uint("Seconds")? {
                found.push(WaitFor::Seconds(s));
            }
            if let Some(t) = f.string("Timestamp")? {
                if time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339)
                    .is_err()
                {
                    return Err(f.err("Timestamp", "must be an RFC 3339 timestamp"));
                }
                found.push(WaitFor::Timestamp(t));
            }
            if let Some(p) = f.path("SecondsPath", true)? {
                found.push(WaitFor::SecondsPath(p));
            }
            if let Some(p) = f.path("TimestampPath", true)? {
                found.push(WaitFor::TimestampPath(p));
            }
            if found.len() != 1 {
                return Err(f.err("Seconds", "a Wait state needs exactly one of Seconds, Timestamp, SecondsPath, TimestampPath"));
            }
            Kind::Wait(found.remove(0))
        }
        "Succeed" => Kind::Succeed,
        "Fail" => {
            let (error, error_path) = (f.string("Error")?, f.path("ErrorPath", true)?);
            let (cause, cause_path) = (f.string("Cause")?, f.path("CausePath", true)?);
            if error.is_some() && error_path.is_some() {
                return Err(f.err("ErrorPath", "Error and ErrorPath exclude each other"));
            }
            if cause.is_some() && cause_path.is_some() {
                return Err(f.err("CausePath", "Cause and CausePath exclude each other"));
            }
            Kind::Fail {
                error,
                cause,
                error_path,
                cause_path,
            }
        }
        "Parallel" => {
            let Some(Value::Array(bs)) = f.get("Branches") else {
                return Err(f.err("Branches", "missing or not an array"));
            };
            if bs.is_empty() {
                return Err(f.err("Branches", "must not be empty"));
            }
            let branches = bs
                .iter()
                .enumerate()
                .map(|(i, b)| parse_machine(b, &format!("{qualified}/Branches[{i}]")))
                .collect::<Result<_, _>>()?;
            Kind::Parallel {
                branches,
                common: Box::new(parse_branching(&f)?),
            }
        }
        "Map" => {
            let (field, proc) = match (f.get("ItemProcessor"), f.get("Iterator")) {
                (Some(p), None) => ("ItemProcessor", p),
                (None, Some(p)) => ("Iterator", p),
                _ => {
                    return Err(f.err(
                        "ItemProcessor",
                        "a Map needs exactly one of ItemProcessor or Iterator",
                    ))
                }
            };
            if f.get("ItemSelector").is_some() && f.get("Parameters").is_some() {
                return Err(f.err(
                    "Parameters",
                    "ItemSelector and Parameters exclude each other",
                ));
            }
            let item_selector = match f.template("ItemSelector")? {
                Some(t) => Some(t),
                None => f.template("Parameters")?,
            };
            let max = f.uint("MaxConcurrency")?.unwrap_or(0);
            let mut common = parse_branching(&f)?;
            // In a Map, `Parameters` is the legacy name of ItemSelector, not a template
            // applied to the Map's own input.
            common.parameters = None;
            Kind::Map {
                items_path: f.path("ItemsPath", true)?,
                item_selector,
                max_concurrency: u32::try_from(max).unwrap_or(u32::MAX),
                processor: Box::new(parse_machine(proc, &format!("{qualified}/{field}"))?),
                common: Box::new(common),
            }
        }
        other => return Err(f.err("Type", format!("unsupported state type `{other}`"))),
    };
    Ok(State {
        name: name.to_string(),
        input_path: f.io_path("InputPath")?,
        output_path: f.io_path("OutputPath")?,
        next: if terminal { None } else { next },
        kind,
    })
}

fn parse_branching(f: &Fields<'_>) -> Result<Branching, AslError> {
    Ok(Branching {
        parameters: f.template("Parameters")?,
        result_selector: f.template("ResultSelector")?,
        result_path: f.result_path("ResultPath")?,
        retry: parse_retry(f)?,
        catch: parse_catch(f)?,
    })
}

fn parse_task(f: &Fields<'_>) -> Result<Task, AslError> {
    let res = f
        .string("Resource")?
        .ok_or_else(|| f.err("Resource", "missing"))?;
    let resource = match res.as_str() {
        LAMBDA_INVOKE => Resource::LambdaInvoke,
        LAMBDA_INVOKE_CALLBACK => Resource::LambdaCallback,
        START_EXECUTION_SYNC2 => Resource::StartExecutionSync2,
        r if r.starts_with("arn:aws:lambda:") && r.contains(":function:") => {
            Resource::LambdaArn(r.to_string())
        }
        r if r.starts_with("${") && r.ends_with('}') => Resource::LambdaArn(r.to_string()),
        other => return Err(f.err("Resource", format!("unsupported resource `{other}`"))),
    };
    let parameters = f.template("Parameters")?;
    let needs = match resource {
        Resource::LambdaInvoke | Resource::LambdaCallback => Some("FunctionName"),
        Resource::StartExecutionSync2 => Some("StateMachineArn"),
        Resource::LambdaArn(_) => None,
    };
    if let Some(field) = needs {
        let present = match &parameters {
            Some(Template::Object(fs)) => fs.iter().any(|(k, _)| k == field),
            _ => false,
        };
        if !present {
            return Err(f.err("Parameters", format!("`{field}` is required for `{res}`")));
        }
        let allowed_params: &[&str] = match resource {
            Resource::StartExecutionSync2 => &["StateMachineArn", "Input", "Name"],
            _ => &[
                "FunctionName",
                "Payload",
                "Qualifier",
                "InvocationType",
                "ClientContext",
                "LogType",
            ],
        };
        if let Some(Template::Object(fs)) = &parameters {
            for (k, _) in fs {
                if !allowed_params.contains(&k.as_str()) {
                    return Err(f.err(
                        &format!("Parameters.{k}"),
                        format!("not supported for `{res}`"),
                    ));
                }
            }
        }
    }
    if resource == Resource::LambdaCallback {
        // Step Functions refuses a callback task whose parameters never pass the token.
        let text = f
            .get("Parameters")
            .map(Value::to_string)
            .unwrap_or_default();
        if !text.contains("$$.Task.Token") {
            return Err(f.err(
                "Parameters",
                "a .waitForTaskToken task must pass `$$.Task.Token`",
            ));
        }
    }
    let seconds = |fixed: &str, path: &str| -> Result<Option<Seconds>, AslError> {
        match (f.uint(fixed)?, f.path(path, true)?) {
            (Some(_), Some(_)) => {
                Err(f.err(path, format!("{fixed} and {path} exclude each other")))
            }
            (Some(0), None) => Err(f.err(fixed, "must be positive")),
            (Some(s), None) => Ok(Some(Seconds::Fixed(s))),
            (None, Some(p)) => Ok(Some(Seconds::Path(p))),
            (None, None) => Ok(None),
        }
    };
    let timeout = seconds("TimeoutSeconds", "TimeoutSecondsPath")?;
    let heartbeat = seconds("HeartbeatSeconds", "HeartbeatSecondsPath")?;
    if let (Some(Seconds::Fixed(t)), Some(Seconds::Fixed(h))) = (&timeout, &heartbeat) {
        if h >= t {
            return Err(f.err("HeartbeatSeconds", "must be smaller than TimeoutSeconds"));
        }
    }
    Ok(Task {
        resource,
        parameters,
        result_selector: f.template("ResultSelector")?,
        result_path: f.result_path("ResultPath")?,
        retry: parse_retry(f)?,
        catch: parse_catch(f)?,
        timeout,
        heartbeat,
    })
}

fn error_equals(f: &Fields<'_>, field: &str, v: &Value) -> Result<Vec<String>, AslError> {
    let Some(Value::Array(names)) = v.get("ErrorEquals") else {
        return Err(f.err(&format!("{field}.ErrorEquals"), "missing or not an array"));
    };
    let names: Vec<String> = names
        .iter()
        .map(|n| n.as_str().map(str::to_string))
        .collect::<Option<_>>()
        .ok_or_else(|| f.err(&format!("{field}.ErrorEquals"), "must be strings"))?;
    if names.is_empty() {
        return Err(f.err(&format!("{field}.ErrorEquals"), "must not be empty"));
    }
    if names.iter().any(|n| n == super::errors::ALL) && names.len() > 1 {
        return Err(f.err(
            &format!("{field}.ErrorEquals"),
            "States.ALL must appear alone",
        ));
    }
    Ok(names)
}

fn parse_retry(f: &Fields<'_>) -> Result<Vec<Retrier>, AslError> {
    let Some(v) = f.get("Retry") else {
        return Ok(Vec::new());
    };
    let Value::Array(rs) = v else {
        return Err(f.err("Retry", "must be an array"));
    };
    let mut out = Vec::new();
    for (i, r) in rs.iter().enumerate() {
        let field = format!("Retry[{i}]");
        let Value::Object(m) = r else {
            return Err(f.err(&field, "must be an object"));
        };
        let rf = Fields {
            state: f.state,
            obj: m,
        };
        for k in m.keys() {
            if !matches!(
                k.as_str(),
                "ErrorEquals"
                    | "IntervalSeconds"
                    | "MaxAttempts"
                    | "BackoffRate"
                    | "MaxDelaySeconds"
                    | "JitterStrategy"
                    | "Comment"
            ) {
                return Err(f.err(&format!("{field}.{k}"), "unknown or unsupported field"));
            }
        }
        let jitter = rf.string("JitterStrategy")?;
        let full_jitter = match jitter.as_deref() {
            None | Some("NONE") => false,
            Some("FULL") => true,
            Some(o) => {
                return Err(f.err(
                    &format!("{field}.JitterStrategy"),
                    format!("`{o}` is not FULL or NONE"),
                ))
            }
        };
        let backoff = rf.number("BackoffRate")?.unwrap_or(2.0);
        if backoff < 1.0 {
            return Err(f.err(&format!("{field}.BackoffRate"), "must be at least 1.0"));
        }
        out.push(Retrier {
            error_equals: error_equals(f, &field, r)?,
            interval_seconds: rf.uint("IntervalSeconds")?.unwrap_or(1) as f64,
            max_attempts: u32::try_from(rf.uint("MaxAttempts")?.unwrap_or(3)).unwrap_or(u32::MAX),
            backoff_rate: backoff,
            max_delay_seconds: rf.uint("MaxDelaySeconds")?.map(|s| s as f64),
            full_jitter,
        });
    }
    Ok(out)
}

fn parse_catch(f: &Fields<'_>) -> Result<Vec<Catcher>, AslError> {
    let Some(v) = f.get("Catch") else {
        return Ok(Vec::new());
    };
    let Value::Array(cs) = v else {
        return Err(f.err("Catch", "must be an array"));
    };
    let mut out = Vec::new();
    for (i, c) in cs.iter().enumerate() {
        let field = format!("Catch[{i}]");
        let Value::Object(m) = c else {
            return Err(f.err(&field, "must be an object"));
        };
        let cf = Fields {
            state: f.state,
            obj: m,
        };
        for k in m.keys() {
            if !matches!(
                k.as_str(),
                "ErrorEquals" | "Next" | "ResultPath" | "Comment"
            ) {
                return Err(f.err(&format!("{field}.{k}"), "unknown or unsupported field"));
            }
        }
        out.push(Catcher {
            error_equals: error_equals(f, &field, c)?,
            next: cf
                .string("Next")?
                .ok_or_else(|| f.err(&format!("{field}.Next"), "missing"))?,
            result_path: cf.result_path("ResultPath")?,
        });
    }
    Ok(out)
}

impl StateMachine {
    /// Names of errors used in any `ErrorEquals` (for the "names exist" check).
    pub fn error_names(&self) -> HashSet<String> {
        let mut out = HashSet::new();
        for st in self.states.values() {
            let (retry, catch): (&[Retrier], &[Catcher]) = match &st.kind {
                Kind::Task(t) => (&t.retry, &t.catch),
                Kind::Parallel { common, .. } | Kind::Map { common, .. } => {
                    (&common.retry, &common.catch)
                }
                _ => (&[], &[]),
            };
            for r in retry {
                out.extend(r.error_equals.iter().cloned());
            }
            for c in catch {
                out.extend(c.error_equals.iter().cloned());
            }
            match &st.kind {
                Kind::Parallel { branches, .. } => {
                    branches.iter().for_each(|b| out.extend(b.error_names()))
                }
                Kind::Map { processor, .. } => out.extend(processor.error_names()),
                _ => {}
            }
        }
        out
    }
}
