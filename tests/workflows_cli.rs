//! `paraf workflows validate|run`, as a developer and CI run them.

use std::process::Command;

fn paraf(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_paraf"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run paraf");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn validate_checks_every_workflow_file_and_refuses_unsupported_fields() {
    let (code, out, _) = paraf(&["workflows", "validate"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("approval.asl.json") && out.contains("disposition.asl.json"));

    let dir = tempfile::tempdir().expect("temp dir");
    let bad = dir.path().join("bad.asl.json");
    let def = r#"{"StartAt":"A","States":{"A":{"Type":"Pass","ResultSelector":{},"End":true}}}"#;
    std::fs::write(&bad, def).expect("write");
    let (code, out, _) = paraf(&["workflows", "validate", bad.to_str().expect("utf-8")]);
    assert_eq!(code, 1);
    assert!(out.contains("state `A`: field `ResultSelector`"), "{out}");
}

#[test]
fn run_prints_the_output_as_json_or_the_error_name_and_cause() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ok = dir.path().join("ok.asl.json");
    let def = r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"x.$":"States.MathAdd($.a, 1)"},"End":true}}}"#;
    std::fs::write(&ok, def).expect("write");
    let (code, out, _) = paraf(&[
        "workflows",
        "run",
        ok.to_str().expect("utf-8"),
        "--input",
        r#"{"a":41}"#,
    ]);
    assert_eq!((code, out.trim()), (0, r#"{"x":42}"#));

    let fail = dir.path().join("fail.asl.json");
    let def =
        r#"{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"Paraf.Nope","Cause":"tidak"}}}"#;
    std::fs::write(&fail, def).expect("write");
    let (code, out, err) = paraf(&["workflows", "run", fail.to_str().expect("utf-8")]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.contains("Paraf.Nope: tidak"), "{err}");

    let (code, out, _) = paraf(&[
        "workflows",
        "run",
        "workflows/approval.asl.json",
        "--input",
        r#"{"request":{"id":"S-1"},"chain":[],"requester":"R"}"#,
        "--function",
        r#"sign={"document":"s.pdf"}"#,
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON output");
    assert_eq!(v["status"], "approved");
    assert_eq!(v["signature"]["document"], "s.pdf");
}
