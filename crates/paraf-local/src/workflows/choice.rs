//! Choice rules: comparison operators, their `…Path` forms, `And`/`Or`/`Not` and the
//! type tests, as in the Amazon States Language specification.

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::errors::{StatesError, RUNTIME};
use super::path::JsonPath;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    String,
    Numeric,
    Boolean,
    Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Equals,
    LessThan,
    GreaterThan,
    LessThanEquals,
    GreaterThanEquals,
    Matches,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Test {
    IsPresent,
    IsNull,
    IsString,
    IsNumeric,
    IsBoolean,
    IsTimestamp,
}

#[derive(Debug, Clone)]
pub enum Operand {
    Value(Value),
    Path(JsonPath),
}

#[derive(Debug, Clone)]
pub enum Rule {
    And(Vec<Rule>),
    Or(Vec<Rule>),
    Not(Box<Rule>),
    Compare {
        variable: JsonPath,
        ty: Ty,
        op: Op,
        operand: Operand,
    },
    Test {
        variable: JsonPath,
        test: Test,
        expected: bool,
    },
}

fn comparison(name: &str) -> Option<(Ty, Op, bool)> {
    let (base, path) = match name.strip_suffix("Path") {
        Some(b) => (b, true),
        None => (name, false),
    };
    let (ty, rest) = [
        ("String", Ty::String),
        ("Numeric", Ty::Numeric),
        ("Boolean", Ty::Boolean),
        ("Timestamp", Ty::Timestamp),
    ]
    .into_iter()
    .find_map(|(p, t)| base.strip_prefix(p).map(|r| (t, r)))?;
    let op = match rest {
        "Equals" => Op::Equals,
        "LessThan" => Op::LessThan,
        "GreaterThan" => Op::GreaterThan,
        "LessThanEquals" => Op::LessThanEquals,
        "GreaterThanEquals" => Op::GreaterThanEquals,
        "Matches" if ty == Ty::String && !path => Op::Matches,
        _ => return None,
    };
    if ty == Ty::Boolean && op != Op::Equals {
        return None;
    }
    Some((ty, op, path))
}

fn test(name: &str) -> Option<Test> {
    Some(match name {
        "IsPresent" => Test::IsPresent,
        "IsNull" => Test::IsNull,
        "IsString" => Test::IsString,
        "IsNumeric" => Test::IsNumeric,
        "IsBoolean" => Test::IsBoolean,
        "IsTimestamp" => Test::IsTimestamp,
        _ => return None,
    })
}

/// Parses one rule; on error returns (field, message) so the caller can name the state.
pub fn parse_rule(v: &Value, top: bool) -> Result<Rule, (String, String)> {
    let Value::Object(m) = v else {
        return Err((String::new(), "a choice rule must be an object".into()));
    };
    let mut variable = None;
    let mut found: Vec<(&String, &Value)> = Vec::new();
    for (k, val) in m {
        match k.as_str() {
            "Next" if top => {}
            "Comment" => {}
            "Variable" => variable = Some(val),
            "And" | "Or" | "Not" => found.push((k, val)),
            other if comparison(other).is_some() || test(other).is_some() => found.push((k, val)),
            other => return Err((other.into(), "unknown or unsupported choice field".into())),
        }
    }
    if found.len() != 1 {
        return Err((
            String::new(),
            "a choice rule needs exactly one operator (or And/Or/Not)".into(),
        ));
    }
    let (k, val) = found[0];
    match k.as_str() {
        "And" | "Or" => {
            if variable.is_some() {
                return Err(("Variable".into(), format!("not allowed with {k}")));
            }
            let Value::Array(rs) = val else {
                return Err((k.clone(), "must be an array".into()));
            };
            let rules = rs
                .iter()
                .map(|r| parse_rule(r, false))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(if k == "And" {
                Rule::And(rules)
            } else {
                Rule::Or(rules)
            })
        }
        "Not" => {
            if variable.is_some() {
                return Err(("Variable".into(), "not allowed with Not".into()));
            }
            Ok(Rule::Not(Box::new(parse_rule(val, false)?)))
        }
        name => {
            let var = match variable {
                Some(Value::String(s)) => JsonPath::parse(s).map_err(|e| ("Variable".into(), e))?,
                _ => return Err(("Variable".into(), "missing or not a string".into())),
            };
            if let Some(t) = test(name) {
                let Value::Bool(expected) = val else {
                    return Err((name.into(), "must be a boolean".into()));
                };
                return Ok(Rule::Test {
                    variable: var,
                    test: t,
                    expected: *expected,
                });
            }
            let Some((ty, op, is_path)) = comparison(name) else {
                return Err((name.into(), "unknown operator".into()));
            };
            let operand = if is_path {
                match val {
                    Value::String(s) => {
                        Operand::Path(JsonPath::parse(s).map_err(|e| (name.to_string(), e))?)
                    }
                    _ => return Err((name.into(), "must be a path string".into())),
                }
            } else {
                let ok = match ty {
                    Ty::String => val.is_string(),
                    Ty::Numeric => val.is_number(),
                    Ty::Boolean => val.is_boolean(),
                    Ty::Timestamp => val.as_str().is_some_and(|s| ts(s).is_some()),
                };
                if !ok {
                    return Err((name.into(), format!("{val} is not a valid operand")));
                }
                Operand::Value(val.clone())
            };
            Ok(Rule::Compare {
                variable: var,
                ty,
                op,
                operand,
            })
        }
    }
}

fn ts(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

fn lookup(p: &JsonPath, input: &Value, context: &Value) -> Option<Value> {
    p.select(if p.context { context } else { input })
}

impl Rule {
    pub fn eval(&self, input: &Value, context: &Value) -> Result<bool, StatesError> {
        match self {
            Rule::And(rs) => {
                for r in rs {
                    if !r.eval(input, context)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Rule::Or(rs) => {
                for r in rs {
                    if r.eval(input, context)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Rule::Not(r) => Ok(!r.eval(input, context)?),
            Rule::Test {
                variable,
                test,
                expected,
            } => {
                let v = lookup(variable, input, context);
                let got = match test {
                    Test::IsPresent => v.is_some(),
                    Test::IsNull => v.as_ref().is_some_and(Value::is_null),
                    Test::IsString => v.as_ref().is_some_and(Value::is_string),
                    Test::IsNumeric => v.as_ref().is_some_and(Value::is_number),
                    Test::IsBoolean => v.as_ref().is_some_and(Value::is_boolean),
                    Test::IsTimestamp => v
                        .as_ref()
                        .and_then(Value::as_str)
                        .is_some_and(|s| ts(s).is_some()),
                };
                Ok(got == *expected)
            }
            Rule::Compare {
                variable,
                ty,
                op,
                operand,
            } => {
                let v = lookup(variable, input, context).ok_or_else(|| {
                    StatesError::new(
                        RUNTIME,
                        format!("Invalid path '{}': The choice state's condition path references an invalid value.", variable.source),
                    )
                })?;
                let rhs = match operand {
                    Operand::Value(x) => x.clone(),
                    Operand::Path(p) => lookup(p, input, context).ok_or_else(|| {
                        StatesError::new(
                            RUNTIME,
                            format!("Invalid path '{}' in a choice rule", p.source),
                        )
                    })?,
                };
                Ok(compare(&v, *ty, *op, &rhs))
            }
        }
    }
}

/// Values of the wrong type never match (the spec: a type mismatch is false, not an error).
fn compare(v: &Value, ty: Ty, op: Op, rhs: &Value) -> bool {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match ty {
        Ty::String => match (v.as_str(), rhs.as_str()) {
            (Some(a), Some(b)) if op == Op::Matches => return glob(a, b),
            (Some(a), Some(b)) => Some(a.cmp(b)),
            _ => None,
        },
        Ty::Numeric => match (v.as_f64(), rhs.as_f64()) {
            (Some(a), Some(b)) => a.partial_cmp(&b),
            _ => None,
        },
        Ty::Boolean => match (v.as_bool(), rhs.as_bool()) {
            (Some(a), Some(b)) => Some(a.cmp(&b)),
            _ => None,
        },
        Ty::Timestamp => match (v.as_str().and_then(ts), rhs.as_str().and_then(ts)) {
            (Some(a), Some(b)) => Some(a.cmp(&b)),
            _ => None,
        },
    };
    let Some(o) = ord else { return false };
    match op {
        Op::Equals => o == Ordering::Equal,
        Op::LessThan => o == Ordering::Less,
        Op::GreaterThan => o == Ordering::Greater,
        Op::LessThanEquals => o != Ordering::Greater,
        Op::GreaterThanEquals => o != Ordering::Less,
        Op::Matches => false,
    }
}

/// `StringMatches`: `*` matches any run of characters; `\*` and `\\` are literal.
fn glob(text: &str, pattern: &str) -> bool {
    #[derive(PartialEq)]
    enum P {
        Star,
        Ch(char),
    }
    let mut pat = Vec::new();
    let mut it = pattern.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => pat.push(P::Ch(it.next().unwrap_or('\\'))),
            '*' => pat.push(P::Star),
            c => pat.push(P::Ch(c)),
        }
    }
    let t: Vec<char> = text.chars().collect();
    // Classic wildcard matching with backtracking to the last star.
    let (mut ti, mut pi) = (0usize, 0usize);
    let (mut star, mut mark) = (None, 0usize);
    while ti < t.len() {
        if pi < pat.len() && pat[pi] == P::Ch(t[ti]) {
            ti += 1;
            pi += 1;
        } else if pi < pat.len() && pat[pi] == P::Star {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < pat.len() && pat[pi] == P::Star {
        pi += 1;
    }
    pi == pat.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(v: Value) -> Rule {
        parse_rule(&v, false).unwrap_or_else(|e| panic!("{e:?}"))
    }

    // https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html
    // "StringMatches": "log-*.txt" matches "log-2023.txt"; wildcard escaping with `\\*`.
    #[test]
    fn string_matches_follows_the_wildcard_rules_of_the_guide() {
        assert!(glob("log-2023.txt", "log-*.txt"));
        assert!(!glob("log-2023.csv", "log-*.txt"));
        assert!(glob("a*b", "a\\*b"));
        assert!(!glob("axb", "a\\*b"));
        assert!(glob("", "*"));
    }

    #[test]
    fn every_operator_and_its_path_form_compare_as_the_spec_says() {
        let input = json!({"n": 5, "m": 7, "s": "b", "t": "2016-03-14T01:59:00Z",
                           "u": "2016-03-14T02:00:00+01:00", "b": true, "z": null});
        let ctx = json!({});
        let cases = [
            (json!({"Variable": "$.n", "NumericEquals": 5}), true),
            (
                json!({"Variable": "$.n", "NumericLessThanPath": "$.m"}),
                true,
            ),
            (
                json!({"Variable": "$.n", "NumericGreaterThanEquals": 5.0}),
                true,
            ),
            (json!({"Variable": "$.s", "StringGreaterThan": "a"}), true),
            (
                json!({"Variable": "$.s", "StringLessThanEqualsPath": "$.s"}),
                true,
            ),
            (json!({"Variable": "$.b", "BooleanEquals": true}), true),
            (json!({"Variable": "$.b", "BooleanEqualsPath": "$.b"}), true),
            // 02:00+01:00 is 01:00Z, before 01:59Z.
            (
                json!({"Variable": "$.t", "TimestampGreaterThanPath": "$.u"}),
                true,
            ),
            (
                json!({"Variable": "$.t", "TimestampEquals": "2016-03-14T01:59:00Z"}),
                true,
            ),
            (json!({"Variable": "$.s", "NumericEquals": 1}), false),
            (json!({"Variable": "$.z", "IsNull": true}), true),
            (json!({"Variable": "$.nope", "IsPresent": false}), true),
            (json!({"Variable": "$.t", "IsTimestamp": true}), true),
            (json!({"Variable": "$.n", "IsNumeric": true}), true),
            (json!({"Variable": "$.s", "IsString": true}), true),
            (json!({"Variable": "$.b", "IsBoolean": false}), false),
            (
                json!({"Not": {"Variable": "$.n", "NumericEquals": 4}}),
                true,
            ),
            (
                json!({"And": [{"Variable": "$.n", "NumericGreaterThan": 1},
                            {"Variable": "$.n", "NumericLessThan": 9}]}),
                true,
            ),
            (
                json!({"Or": [{"Variable": "$.n", "NumericGreaterThan": 10},
                           {"Variable": "$.s", "StringMatches": "*"}]}),
                true,
            ),
        ];
        for (r, expected) in cases {
            assert_eq!(rule(r.clone()).eval(&input, &ctx), Ok(expected), "{r}");
        }
    }

    #[test]
    fn a_rule_with_an_unknown_operator_is_refused() {
        assert!(parse_rule(&json!({"Variable": "$.a", "StringContains": "x"}), false).is_err());
        assert!(parse_rule(&json!({"Variable": "$.a", "BooleanLessThan": true}), false).is_err());
        assert!(parse_rule(&json!({"Variable": "$.a", "NumericEquals": "1"}), false).is_err());
    }
}
