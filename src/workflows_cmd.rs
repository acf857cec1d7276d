//! `paraf workflows validate|run`: the ASL files checked and run by the local interpreter,
//! without a data directory (development and CI).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use clap::Subcommand;
use paraf_local::workflows::{handler_fn, run_once, validate_file, Handlers};
use serde_json::Value;

#[derive(Subcommand)]
pub enum WorkflowsCommand {
    /// Check every ASL file (default: every `*.asl.json` in ./workflows); features the
    /// local interpreter does not implement are refused, naming state and field.
    Validate {
        /// Files or folders (a folder means its `*.asl.json` files).
        paths: Vec<PathBuf>,
    },
    /// Run one execution in memory (development): prints its output as JSON and exits 0,
    /// or prints the error name and cause and exits 1. Wait states and retries really wait.
    Run {
        file: PathBuf,
        /// The execution input (JSON).
        #[arg(long, default_value = "{}")]
        input: String,
        /// A `${NAME}` value; `${…FunctionArn}` placeholders not given default to a local
        /// function named after them (`NotifyFunctionArn` → `notify`).
        #[arg(long = "sub", value_name = "NAME=VALUE")]
        subs: Vec<String>,
        /// A Lambda function that answers with this JSON every time it is invoked (a task
        /// calling a function without one fails with Lambda.ResourceNotFoundException).
        #[arg(long = "function", value_name = "NAME=JSON")]
        functions: Vec<String>,
    },
}

pub async fn run(cmd: WorkflowsCommand) -> anyhow::Result<()> {
    match cmd {
        WorkflowsCommand::Validate { paths } => validate(paths),
        WorkflowsCommand::Run {
            file,
            input,
            subs,
            functions,
        } => run_file(&file, &input, &subs, &functions).await,
    }
}

fn asl_files(paths: Vec<PathBuf>) -> anyhow::Result<Vec<PathBuf>> {
    let paths = if paths.is_empty() {
        vec![PathBuf::from("workflows")]
    } else {
        paths
    };
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(&p)
                .with_context(|| format!("cannot read {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.to_string_lossy().ends_with(".asl.json"))
                .collect();
            found.sort();
            if found.is_empty() {
                anyhow::bail!("{} holds no *.asl.json file", p.display());
            }
            files.extend(found);
        } else {
            files.push(p);
        }
    }
    Ok(files)
}

fn validate(paths: Vec<PathBuf>) -> anyhow::Result<()> {
    let files = asl_files(paths)?;
    let mut bad = 0usize;
    for f in &files {
        match validate_file(f) {
            Ok(sm) => println!("ok      {} ({} states)", f.display(), sm.states.len()),
            Err(e) => {
                bad += 1;
                println!("INVALID {}: {e}", f.display());
            }
        }
    }
    if bad > 0 {
        anyhow::bail!("{bad} of {} workflow files are invalid", files.len());
    }
    Ok(())
}

/// `NotifyFunctionArn` → `notify`; `DispositionStateMachineArn` → the `run` machine.
fn default_substitution(name: &str) -> Option<String> {
    if let Some(stem) = name.strip_suffix("FunctionArn") {
        return Some(format!(
            "arn:aws:lambda:local:000000000000:function:{}",
            stem.to_lowercase()
        ));
    }
    name.strip_suffix("StateMachineArn")
        .map(|_| "arn:aws:states:local:000000000000:stateMachine:run".to_string())
}

/// The `${…}` names a definition uses.
fn placeholders(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        out.push(after[..end].to_string());
        rest = &after[end + 1..];
    }
    out
}

fn pairs<'a>(items: &'a [String], flag: &str) -> anyhow::Result<Vec<(&'a str, &'a str)>> {
    items
        .iter()
        .map(|s| {
            s.split_once('=')
                .ok_or_else(|| anyhow::anyhow!("{flag} `{s}`: expected NAME=VALUE"))
        })
        .collect()
}

async fn run_file(
    file: &Path,
    input: &str,
    subs: &[String],
    functions: &[String],
) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let input: Value = serde_json::from_str(input).context("--input is not valid JSON")?;
    let mut substitutions = BTreeMap::new();
    for name in placeholders(&text) {
        if let Some(v) = default_substitution(&name) {
            substitutions.insert(name, v);
        }
    }
    for (k, v) in pairs(subs, "--sub")? {
        substitutions.insert(k.to_string(), v.to_string());
    }
    let mut handlers: Handlers = HashMap::new();
    for (name, json) in pairs(functions, "--function")? {
        let answer: Value = serde_json::from_str(json)
            .with_context(|| format!("--function {name}: the answer is not valid JSON"))?;
        let answer = Arc::new(answer);
        handlers.insert(
            name.to_string(),
            handler_fn(move |_, _| {
                let answer = answer.clone();
                async move { Ok((*answer).clone()) }
            }),
        );
    }
    match run_once(&text, &substitutions, input, handlers).await {
        Ok(output) => {
            println!("{}", serde_json::to_string(&output)?);
            Ok(())
        }
        Err(f) => anyhow::bail!("{}: {}", f.error, f.cause),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_found_and_function_arns_default_to_local_functions() {
        assert_eq!(
            placeholders(r#"{"a": "${NotifyFunctionArn}", "b": "x${Other}y"}"#),
            vec!["NotifyFunctionArn".to_string(), "Other".to_string()]
        );
        assert_eq!(
            default_substitution("SignFunctionArn").as_deref(),
            Some("arn:aws:lambda:local:000000000000:function:sign")
        );
        assert_eq!(default_substitution("Other"), None);
    }
}
