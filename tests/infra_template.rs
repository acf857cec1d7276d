//! Keeps the SAM template (`infra/template.yaml`) in step with the code and the workflow
//! definitions it deploys. `scripts/check-template` lints the template itself (cfn-lint,
//! `sam validate --lint`); these tests check what no linter knows: the names the code
//! reads, the placeholders in `workflows/`, the workspace's crates and binaries, and the
//! table layout of paraf-core.
//!
//! (That every non-`States.*` name in an ASL `ErrorEquals` is one the code knows is
//! checked by `crates/paraf-local/tests/asl_workflows.rs`.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use paraf_core::ports::table::Index;
use serde_norway::{Mapping, Value};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn template() -> Value {
    let path = root().join("infra/template.yaml");
    serde_norway::from_str(&read(&path)).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

/// A value without its CloudFormation short-form tag (`!Ref`, `!Sub`, `!GetAtt`…).
fn untag(v: &Value) -> &Value {
    match v {
        Value::Tagged(t) => untag(&t.value),
        other => other,
    }
}

fn tag_name(v: &Value) -> Option<String> {
    match v {
        Value::Tagged(t) => Some(t.tag.to_string().trim_start_matches('!').to_string()),
        _ => None,
    }
}

/// The logical id named by `!Ref X` or `{Ref: X}`.
fn ref_target(v: &Value) -> Option<&str> {
    if tag_name(v).as_deref() == Some("Ref") {
        return untag(v).as_str();
    }
    v.as_mapping()?.get("Ref")?.as_str()
}

fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    untag(v).as_mapping()?.get(key).map(untag)
}

fn resources(t: &Value) -> Vec<(String, &Mapping)> {
    get(t, "Resources")
        .and_then(Value::as_mapping)
        .expect("Resources")
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().expect("logical id").to_string(),
                untag(v).as_mapping().expect("resource"),
            )
        })
        .collect()
}

fn of_type<'a>(t: &'a Value, ty: &str) -> Vec<(String, &'a Mapping)> {
    resources(t)
        .into_iter()
        .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some(ty))
        .collect()
}

fn props(r: &Mapping) -> &Value {
    r.get("Properties").map(untag).expect("Properties")
}

fn globals_function(t: &Value) -> Option<&Value> {
    get(t, "Globals").and_then(|g| get(g, "Function"))
}

fn functions(t: &Value) -> Vec<(String, &Mapping)> {
    let fns = of_type(t, "AWS::Serverless::Function");
    assert!(
        !fns.is_empty(),
        "the template has no AWS::Serverless::Function"
    );
    fns
}

/// A function property, falling back to `Globals.Function`.
fn function_prop<'a>(t: &'a Value, f: &'a Mapping, key: &str) -> Option<&'a Value> {
    get(props(f), key).or_else(|| globals_function(t).and_then(|g| get(g, key)))
}

/// `CodeUri` / `DefinitionUri` are relative to the template's folder.
fn infra_path(rel: &str) -> PathBuf {
    let joined = root().join("infra").join(rel);
    joined.canonicalize().unwrap_or(joined)
}

fn code_dir(name: &str, f: &Mapping) -> PathBuf {
    let uri = get(props(f), "CodeUri")
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{name}: CodeUri must be a local path"));
    infra_path(uri)
}

/// `${Name}` placeholders of a definition (not `$.path` JSONPath, not `$$.Context`).
fn placeholders(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        rest = &rest[i + 2..];
        let end = rest.find('}').expect("unterminated ${ in a definition");
        out.insert(rest[..end].to_string());
        rest = &rest[end + 1..];
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// String literals `"PARAF_[A-Z0-9_]+"` in the Rust sources under `dir`, outside unit
/// tests.
fn paraf_literals(dir: &Path) -> BTreeMap<String, PathBuf> {
    let mut files = Vec::new();
    rust_files(dir, &mut files);
    let mut out = BTreeMap::new();
    for file in files {
        let text = read(&file);
        // Unit tests (a trailing `#[cfg(test)]` module) may name test-only variables.
        let text = text.split("#[cfg(test)]").next().unwrap_or_default();
        for (i, _) in text.match_indices("\"PARAF_") {
            let name: String = text[i + 1..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if text[i + 1 + name.len()..].starts_with('"') {
                out.entry(name).or_insert_with(|| file.clone());
            }
        }
    }
    out
}

fn identifiers(s: &str) -> Vec<&str> {
    s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect()
}

/// What `crates/paraf-aws/src/config.rs` says each function reads: the `pub const X: &str
/// = "PARAF_…"` names and the `(X, required)` pairs of each `Function::…` arm of
/// `Function::variables`. Keyed by the variant's name.
fn config_variables() -> BTreeMap<String, BTreeSet<String>> {
    let text = read(&root().join("crates/paraf-aws/src/config.rs"));
    let mut consts = BTreeMap::new();
    for line in text.lines() {
        let l = line.trim();
        if let Some(rest) = l.strip_prefix("pub const ") {
            if let (Some((name, _)), Some(q)) = (rest.split_once(':'), rest.find("\"PARAF_")) {
                let value = rest[q + 1..].split('"').next().unwrap_or_default();
                consts.insert(name.trim().to_string(), value.to_string());
            }
        }
    }
    let start = text
        .find("pub fn variables(self)")
        .expect("config.rs: Function::variables");
    let body = &text[start..];
    let body = &body[..body.find("\n    }\n}").expect("end of Function::variables")];
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut current: Vec<String> = Vec::new();
    for line in body.lines() {
        if line.contains("=>") {
            current = line
                .split("Function::")
                .skip(1)
                .filter_map(|s| identifiers(s).first().map(|w| w.to_string()))
                .collect();
            for v in &current {
                out.entry(v.clone()).or_default();
            }
        }
        for pair in line.split('(').skip(1) {
            let words = identifiers(pair);
            if let [name, flag, ..] = words[..] {
                if flag == "true" || flag == "false" {
                    let value = consts
                        .get(name)
                        .unwrap_or_else(|| panic!("config.rs: `{name}` is not a PARAF_ const"));
                    for v in &current {
                        out.get_mut(v).expect("arm").insert(value.clone());
                    }
                }
            }
        }
    }
    assert!(
        out.len() >= 5 && out.values().all(|v| !v.is_empty()),
        "could not read Function::variables from config.rs: {out:?}"
    );
    out
}

/// `functions/api` → `Api`.
fn variant_of(dir: &Path) -> String {
    let name = dir.file_name().and_then(|n| n.to_str()).expect("dir name");
    name.split(['-', '_'])
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn env_names(v: Option<&Value>) -> BTreeSet<String> {
    v.and_then(|e| get(e, "Variables"))
        .and_then(Value::as_mapping)
        .map(|m| {
            m.keys()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn every_asl_placeholder_has_a_definition_substitution_and_none_is_unused() {
    let t = template();
    let machines = of_type(&t, "AWS::Serverless::StateMachine");
    assert!(!machines.is_empty(), "no AWS::Serverless::StateMachine");
    let mut used_files = BTreeSet::new();
    for (name, m) in &machines {
        let p = props(m);
        let uri = get(p, "DefinitionUri")
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{name}: DefinitionUri must be a workflows/ file"));
        let file = infra_path(uri);
        assert!(file.is_file(), "{name}: {} does not exist", file.display());
        used_files.insert(file.clone());
        let wanted = placeholders(&read(&file));
        let given: BTreeSet<String> = get(p, "DefinitionSubstitutions")
            .and_then(Value::as_mapping)
            .map(|m| {
                m.keys()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let missing: Vec<_> = wanted.difference(&given).collect();
        let unused: Vec<_> = given.difference(&wanted).collect();
        assert!(
            missing.is_empty() && unused.is_empty(),
            "{name} ({uri}): placeholders without a substitution {missing:?}, substitutions no placeholder uses {unused:?}"
        );
    }
    let all: BTreeSet<PathBuf> = std::fs::read_dir(root().join("workflows"))
        .expect("workflows/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".asl.json"))
        .map(|p| p.canonicalize().expect("canonical"))
        .collect();
    let undeployed: Vec<_> = all.difference(&used_files).collect();
    assert!(
        undeployed.is_empty(),
        "workflows no state machine deploys: {undeployed:?}"
    );
}

#[test]
fn state_machines_are_standard_workflows_that_log_to_cloudwatch() {
    let t = template();
    for (name, m) in of_type(&t, "AWS::Serverless::StateMachine") {
        let p = props(m);
        assert_eq!(
            get(p, "Type").and_then(Value::as_str),
            Some("STANDARD"),
            "{name}: Type"
        );
        let dest = get(p, "Logging")
            .and_then(|l| get(l, "Destinations"))
            .and_then(Value::as_sequence)
            .and_then(|d| d.first())
            .and_then(|d| get(d, "CloudWatchLogsLogGroup"));
        assert!(dest.is_some(), "{name}: no CloudWatch Logs destination");
    }
}

#[test]
fn every_function_gets_exactly_the_paraf_variables_its_config_reads() {
    let t = template();
    let config = config_variables();
    let known: BTreeSet<&String> = config.values().flatten().collect();
    // Every PARAF_* name in the Lambda code goes through config.rs's table (so the
    // per-function rule below sees it).
    // Lambda code only: the functions' `src/` (their `tests/` drive emulators with
    // variables of their own) and the adapters they call.
    let mut literals = BTreeMap::new();
    for f in std::fs::read_dir(root().join("functions"))
        .expect("functions/")
        .flatten()
    {
        literals.extend(paraf_literals(&f.path().join("src")));
    }
    literals.extend(paraf_literals(&root().join("crates/paraf-aws/src")));
    for (name, file) in &literals {
        assert!(
            known.contains(name),
            "{name} (in {}) is not in Function::variables of crates/paraf-aws/src/config.rs",
            file.display()
        );
    }
    let global = env_names(globals_function(&t).and_then(|g| get(g, "Environment")));
    let mut problems = Vec::new();
    for (name, f) in functions(&t) {
        let dir = code_dir(&name, f);
        let variant = variant_of(&dir);
        // A function crate that names its config::Function must name this one.
        let mut files = Vec::new();
        rust_files(&dir.join("src"), &mut files);
        for file in files {
            let text = read(&file);
            for named in text
                .split("Function::")
                .skip(1)
                .filter_map(|s| identifiers(s).first().copied())
            {
                if config.contains_key(named) && named != variant {
                    problems.push(format!(
                        "{name}: {} uses Function::{named}, but its folder maps to Function::{variant}",
                        file.display()
                    ));
                }
            }
        }
        let Some(reads) = config.get(&variant) else {
            problems.push(format!(
                "{name}: no Function::{variant} in config.rs for {}",
                dir.display()
            ));
            continue;
        };
        let mut set = global.clone();
        set.extend(env_names(get(props(f), "Environment")));
        set.retain(|v| v.starts_with("PARAF_"));
        let missing: Vec<_> = reads.difference(&set).collect();
        let extra: Vec<_> = set.difference(reads).collect();
        if !missing.is_empty() || !extra.is_empty() {
            problems.push(format!(
                "{name} (Function::{variant}): not set {missing:?}; set but never read {extra:?}"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_code_uri_is_a_workspace_member_whose_binary_the_build_names() {
    let t = template();
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .current_dir(root())
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
    let members: BTreeSet<&str> = meta["workspace_members"]
        .as_array()
        .expect("workspace_members")
        .iter()
        .filter_map(|m| m.as_str())
        .collect();
    let mut problems = Vec::new();
    for (name, f) in functions(&t) {
        let dir = code_dir(&name, f);
        let package = meta["packages"]
            .as_array()
            .expect("packages")
            .iter()
            .find(|p| {
                members.contains(p["id"].as_str().unwrap_or_default())
                    && Path::new(p["manifest_path"].as_str().unwrap_or_default())
                        .parent()
                        .and_then(|d| d.canonicalize().ok())
                        .is_some_and(|d| d == dir)
            });
        let Some(package) = package else {
            problems.push(format!(
                "{name}: CodeUri {} is not a workspace member",
                dir.display()
            ));
            continue;
        };
        let metadata = f.get("Metadata").map(untag);
        let method = metadata
            .and_then(|m| get(m, "BuildMethod"))
            .and_then(Value::as_str);
        if method != Some("rust-cargolambda") {
            problems.push(format!("{name}: Metadata.BuildMethod is {method:?}"));
        }
        let binary = metadata
            .and_then(|m| get(m, "BuildProperties"))
            .and_then(|b| get(b, "Binary"))
            .and_then(Value::as_str);
        let bins: Vec<&str> = package["targets"]
            .as_array()
            .expect("targets")
            .iter()
            .filter(|t| {
                t["kind"]
                    .as_array()
                    .is_some_and(|k| k.iter().any(|k| k == "bin"))
            })
            .filter_map(|t| t["name"].as_str())
            .collect();
        match binary {
            Some(b) if bins.contains(&b) => {}
            other => problems.push(format!(
                "{name}: BuildProperties.Binary {other:?} is not a binary of {} ({bins:?})",
                package["name"]
            )),
        }
        let handler = function_prop(&t, f, "Handler").and_then(Value::as_str);
        if handler != Some("bootstrap") {
            problems.push(format!(
                "{name}: Handler is {handler:?}, cargo lambda builds `bootstrap`"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_function_runs_on_arm64_with_the_al2023_custom_runtime() {
    let t = template();
    for (name, f) in functions(&t) {
        let runtime = function_prop(&t, f, "Runtime").and_then(Value::as_str);
        assert_eq!(runtime, Some("provided.al2023"), "{name}: Runtime");
        let arch: Vec<&str> = function_prop(&t, f, "Architectures")
            .and_then(Value::as_sequence)
            .map(|s| s.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        assert_eq!(arch, ["arm64"], "{name}: Architectures");
    }
}

#[test]
fn the_table_has_the_keys_and_indexes_of_paraf_core_and_the_ttl_the_code_writes() {
    let t = template();
    let tables = of_type(&t, "AWS::DynamoDB::Table");
    assert_eq!(tables.len(), 1, "one table");
    let p = props(tables[0].1);
    let keys = |v: Option<&Value>| -> Vec<(String, String)> {
        v.and_then(Value::as_sequence)
            .expect("KeySchema")
            .iter()
            .map(|k| {
                let s = |f| {
                    get(k, f)
                        .and_then(Value::as_str)
                        .expect("key field")
                        .to_string()
                };
                (s("AttributeName"), s("KeyType"))
            })
            .collect()
    };
    let pair = |(h, r): (&str, &str)| vec![(h.into(), "HASH".into()), (r.into(), "RANGE".into())];
    let mut want_attrs = BTreeSet::new();
    let gsis: Vec<&Value> = get(p, "GlobalSecondaryIndexes")
        .and_then(Value::as_sequence)
        .map(|s| s.iter().map(untag).collect())
        .unwrap_or_default();
    for index in Index::ALL {
        let (h, r) = index.key_attributes();
        want_attrs.extend([h.to_string(), r.to_string()]);
        match index.name() {
            None => assert_eq!(keys(get(p, "KeySchema")), pair((h, r)), "table KeySchema"),
            Some(n) => {
                let gsi = gsis
                    .iter()
                    .find(|g| get(g, "IndexName").and_then(Value::as_str) == Some(n))
                    .unwrap_or_else(|| panic!("no GSI {n}"));
                assert_eq!(
                    keys(get(gsi, "KeySchema")),
                    pair((h, r)),
                    "GSI {n} KeySchema"
                );
                let projection = get(gsi, "Projection").and_then(|p| get(p, "ProjectionType"));
                assert_eq!(
                    projection.and_then(Value::as_str),
                    Some("ALL"),
                    "GSI {n} projection"
                );
            }
        }
    }
    assert_eq!(
        gsis.len(),
        Index::ALL.len() - 1,
        "no GSI the code does not know"
    );
    let attrs: BTreeSet<String> = get(p, "AttributeDefinitions")
        .and_then(Value::as_sequence)
        .expect("AttributeDefinitions")
        .iter()
        .map(|a| {
            assert_eq!(get(a, "AttributeType").and_then(Value::as_str), Some("S"));
            get(a, "AttributeName")
                .and_then(Value::as_str)
                .expect("name")
                .to_string()
        })
        .collect();
    assert_eq!(attrs, want_attrs, "AttributeDefinitions");
    assert_eq!(
        get(p, "BillingMode").and_then(Value::as_str),
        Some("PAY_PER_REQUEST")
    );
    let pitr = get(p, "PointInTimeRecoverySpecification")
        .and_then(|s| get(s, "PointInTimeRecoveryEnabled"))
        .and_then(Value::as_bool);
    assert_eq!(pitr, Some(true), "point-in-time recovery");
    let ttl = get(p, "TimeToLiveSpecification").expect("TimeToLiveSpecification");
    assert_eq!(get(ttl, "Enabled").and_then(Value::as_bool), Some(true));
    let ttl_attr = get(ttl, "AttributeName")
        .and_then(Value::as_str)
        .expect("TTL attribute");
    let core = {
        let mut files = Vec::new();
        rust_files(&root().join("crates/paraf-core/src"), &mut files);
        files.iter().map(|f| read(f.as_path())).collect::<String>()
    };
    assert!(
        core.contains(&format!("\"{ttl_attr}\"")),
        "paraf-core never writes the TTL attribute `{ttl_attr}`"
    );
}

#[test]
fn the_jwt_authorizer_guards_the_api_routes_and_nothing_else() {
    let t = template();
    let routes = of_type(&t, "AWS::ApiGatewayV2::Route");
    assert!(
        routes
            .iter()
            .any(|(_, r)| get(props(r), "RouteKey").and_then(Value::as_str) == Some("$default")),
        "no $default route for pages, task links, /healthz and /v/{{id}}"
    );
    let mut api = 0;
    for (name, r) in &routes {
        let p = props(r);
        let key = get(p, "RouteKey")
            .and_then(Value::as_str)
            .expect("RouteKey");
        let auth = get(p, "AuthorizationType").and_then(Value::as_str);
        if key.ends_with(" /api/{proxy+}") {
            api += 1;
            assert_eq!(auth, Some("JWT"), "{name} ({key})");
            let id = untag(p)
                .as_mapping()
                .and_then(|m| m.get("AuthorizerId"))
                .and_then(ref_target)
                .expect("AuthorizerId: !Ref");
            let authorizer = resources(&t)
                .into_iter()
                .find(|(n, _)| n == id)
                .expect("authorizer resource");
            let issuer = get(props(authorizer.1), "JwtConfiguration")
                .and_then(|j| get(j, "Issuer"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            assert!(issuer.contains("cognito-idp"), "{id}: issuer {issuer}");
        } else {
            assert_eq!(auth, Some("NONE"), "{name} ({key}) must be left to the app");
        }
    }
    assert_eq!(api, 1, "one /api/{{proxy+}} route");
    // SAM's own HttpApi events would need the function in the API body: a cycle with
    // PARAF_PUBLIC_URL (see the template).
    for (name, f) in functions(&t) {
        if let Some(events) = get(props(f), "Events").and_then(Value::as_mapping) {
            for (ev, e) in events {
                assert_ne!(
                    get(e, "Type").and_then(Value::as_str),
                    Some("HttpApi"),
                    "{name}.{ev:?}: HttpApi events make PARAF_PUBLIC_URL circular"
                );
            }
        }
    }
}

#[test]
fn every_function_and_state_machine_has_an_alarm_and_failures_reach_the_dead_letter_queue() {
    let t = template();
    let alarms = of_type(&t, "AWS::CloudWatch::Alarm");
    let watched = |metric: &str, dimension: &str| -> BTreeSet<String> {
        alarms
            .iter()
            .map(|(_, a)| props(a))
            .filter(|p| get(p, "MetricName").and_then(Value::as_str) == Some(metric))
            .filter_map(|p| get(p, "Dimensions").and_then(Value::as_sequence))
            .flatten()
            .filter(|d| get(d, "Name").and_then(Value::as_str) == Some(dimension))
            .filter_map(|d| untag(d).as_mapping()?.get("Value").and_then(ref_target))
            .map(str::to_string)
            .collect()
    };
    let errors = watched("Errors", "FunctionName");
    for (name, _) in functions(&t) {
        assert!(errors.contains(&name), "no Errors alarm on {name}");
    }
    for metric in ["ExecutionsFailed", "ExecutionsTimedOut"] {
        let w = watched(metric, "StateMachineArn");
        for (name, _) in of_type(&t, "AWS::Serverless::StateMachine") {
            assert!(w.contains(&name), "no {metric} alarm on {name}");
        }
    }
    let queues: Vec<String> = of_type(&t, "AWS::SQS::Queue")
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(queues.len(), 1, "one dead-letter queue");
    let dlq_depth = alarms.iter().map(|(_, a)| props(a)).any(|p| {
        get(p, "MetricName").and_then(Value::as_str) == Some("ApproximateNumberOfMessagesVisible")
            && get(p, "Dimensions")
                .and_then(Value::as_sequence)
                .is_some_and(|ds| {
                    ds.iter().any(|d| {
                        let v = get(d, "Value").and_then(Value::as_str).unwrap_or_default();
                        v == queues[0] || v.starts_with(&format!("{}.", queues[0]))
                    })
                })
    });
    assert!(dlq_depth, "no alarm on the dead-letter queue depth");
    let rule_targets_dlq = of_type(&t, "AWS::Events::Rule").iter().any(|(_, r)| {
        let p = props(r);
        let source = get(p, "EventPattern").and_then(|e| get(e, "source"));
        source
            .and_then(Value::as_sequence)
            .is_some_and(|s| s.iter().any(|v| v.as_str() == Some("aws.states")))
            && get(p, "Targets")
                .and_then(Value::as_sequence)
                .is_some_and(|ts| {
                    ts.iter().any(|tg| {
                        let arn = get(tg, "Arn").and_then(Value::as_str).unwrap_or_default();
                        queues.iter().any(|q| arn.starts_with(&format!("{q}.")))
                    })
                })
    });
    assert!(
        rule_targets_dlq,
        "no EventBridge rule sends failed executions to the DLQ"
    );
}
