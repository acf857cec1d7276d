//! The direction of dependencies, checked on the resolved graph (`cargo metadata`), normal
//! dependencies only and transitively: the domain knows no adapter, HTTP, AWS, SQLite or
//! PDF crate; the HTTP layer and the workflow tasks no adapter; the two adapter crates
//! never each other; and no Lambda function carries SQLite or SMTP.
//! (`cargo machete` in the test command finds dependencies nothing uses.)

use std::collections::{BTreeSet, HashMap};
use std::process::Command;

use serde_json::Value;

/// Package name → the names of its normal dependencies (direct).
fn normal_graph() -> HashMap<String, Vec<String>> {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
    let names: HashMap<&str, &str> = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            (
                p["id"].as_str().expect("id"),
                p["name"].as_str().expect("name"),
            )
        })
        .collect();
    meta["resolve"]["nodes"]
        .as_array()
        .expect("resolve nodes")
        .iter()
        .map(|node| {
            let deps = node["deps"]
                .as_array()
                .expect("deps")
                .iter()
                .filter(|d| {
                    d["dep_kinds"]
                        .as_array()
                        .is_some_and(|k| k.iter().any(|k| k["kind"].is_null()))
                })
                .map(|d| names[d["pkg"].as_str().expect("pkg")].to_string())
                .collect();
            (names[node["id"].as_str().expect("id")].to_string(), deps)
        })
        .collect()
}

/// Every package `root` needs at run time (its normal dependencies, transitively).
fn closure(graph: &HashMap<String, Vec<String>>, root: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![root.to_string()];
    while let Some(p) = stack.pop() {
        for d in graph.get(&p).into_iter().flatten() {
            if seen.insert(d.clone()) {
                stack.push(d.clone());
            }
        }
    }
    seen
}

fn forbidden<'a>(deps: &'a BTreeSet<String>, banned: &[&str]) -> Vec<&'a String> {
    deps.iter()
        .filter(|d| {
            banned
                .iter()
                .any(|b| d.as_str() == *b || (b.ends_with('*') && d.starts_with(&b[..b.len() - 1])))
        })
        .collect()
}

const ADAPTERS: [&str; 2] = ["paraf-local", "paraf-aws"];
const SQLITE_SMTP: [&str; 3] = ["rusqlite", "libsqlite3-sys", "lettre"];

#[test]
fn dependencies_point_inward() {
    let graph = normal_graph();
    let mut faults = Vec::new();
    let mut check = |krate: &str, banned: &[&str]| {
        assert!(graph.contains_key(krate), "{krate} is a workspace member");
        let deps = closure(&graph, krate);
        let bad = forbidden(&deps, banned);
        if !bad.is_empty() {
            faults.push(format!("{krate} depends on {bad:?}"));
        }
    };
    let domain: Vec<&str> = ADAPTERS
        .iter()
        .chain(&SQLITE_SMTP)
        .chain(&[
            "paraf-http",
            "paraf-pdf",
            "paraf-tasks",
            "aws-sdk-*",
            "aws-config",
            "aws-smithy-*",
            "axum",
            "hyper",
            "lambda_runtime",
            "lambda_http",
            "pdf-writer",
        ])
        .copied()
        .collect();
    check("paraf-core", &domain);
    let no_adapters: Vec<&str> = ADAPTERS
        .iter()
        .chain(&SQLITE_SMTP)
        .chain(&["aws-sdk-*", "aws-config"])
        .copied()
        .collect();
    for krate in ["paraf-http", "paraf-tasks", "paraf-pdf", "paraf-pki"] {
        check(krate, &no_adapters);
    }
    // `aws-lc-rs` is rustls' cryptography, not AWS: only the SDK is banned.
    check(
        "paraf-local",
        &[
            "paraf-aws",
            "aws-sdk-*",
            "aws-config",
            "aws-smithy-*",
            "paraf-http",
        ],
    );
    check(
        "paraf-aws",
        &["paraf-local", "paraf-http", "rusqlite", "lettre"],
    );
    for function in ["api", "notify", "escalate", "sign", "redeliver", "setup"] {
        let mut banned: Vec<&str> = vec!["paraf-local"];
        banned.extend(SQLITE_SMTP);
        banned.extend(["paraf-fn-*"]);
        check(&format!("paraf-fn-{function}"), &banned);
    }
    assert!(faults.is_empty(), "{}", faults.join("\n"));
}
