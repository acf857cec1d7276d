//! Intrinsic functions (`States.Format(...)` …) for JSONPath states, parsed when the
//! definition is loaded so that an unknown function or a malformed call is refused
//! before any execution starts.

use base64::Engine as _;
use rand::{Rng, RngCore, SeedableRng};
use serde_json::{Map, Value};
use sha2::Digest as _;

use super::errors::{StatesError, INTRINSIC_FAILURE};
use super::path::JsonPath;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Format,
    StringToJson,
    JsonToString,
    Array,
    ArrayPartition,
    ArrayContains,
    ArrayRange,
    ArrayGetItem,
    ArrayLength,
    ArrayUnique,
    Base64Encode,
    Base64Decode,
    Hash,
    JsonMerge,
    MathRandom,
    MathAdd,
    StringSplit,
    Uuid,
}

impl Func {
    fn by_name(name: &str) -> Option<(Func, usize, Option<usize>)> {
        // (function, minimum arguments, maximum arguments)
        Some(match name {
            "States.Format" => (Func::Format, 1, None),
            "States.StringToJson" => (Func::StringToJson, 1, Some(1)),
            "States.JsonToString" => (Func::JsonToString, 1, Some(1)),
            "States.Array" => (Func::Array, 0, None),
            "States.ArrayPartition" => (Func::ArrayPartition, 2, Some(2)),
            "States.ArrayContains" => (Func::ArrayContains, 2, Some(2)),
            "States.ArrayRange" => (Func::ArrayRange, 3, Some(3)),
            "States.ArrayGetItem" => (Func::ArrayGetItem, 2, Some(2)),
            "States.ArrayLength" => (Func::ArrayLength, 1, Some(1)),
            "States.ArrayUnique" => (Func::ArrayUnique, 1, Some(1)),
            "States.Base64Encode" => (Func::Base64Encode, 1, Some(1)),
            "States.Base64Decode" => (Func::Base64Decode, 1, Some(1)),
            "States.Hash" => (Func::Hash, 2, Some(2)),
            "States.JsonMerge" => (Func::JsonMerge, 3, Some(3)),
            "States.MathRandom" => (Func::MathRandom, 2, Some(3)),
            "States.MathAdd" => (Func::MathAdd, 2, Some(2)),
            "States.StringSplit" => (Func::StringSplit, 2, Some(2)),
            "States.UUID" => (Func::Uuid, 0, Some(0)),
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Literal(Value),
    Path(JsonPath),
    Call(Box<Call>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub func: Func,
    pub args: Vec<Arg>,
}

/// What an intrinsic reads: the effective input, the context object, and a random source
/// (seedable, so `States.MathRandom`/`States.UUID` are reproducible in tests).
pub struct Env<'a> {
    pub input: &'a Value,
    pub context: &'a Value,
    pub rng: &'a mut dyn RngCore,
}

pub fn is_intrinsic(s: &str) -> bool {
    s.starts_with("States.")
}

pub fn parse(src: &str) -> Result<Call, String> {
    let chars: Vec<char> = src.chars().collect();
    let mut p = Parser {
        s: &chars,
        i: 0,
        depth: 0,
    };
    let call = p.call()?;
    p.ws();
    if p.i != chars.len() {
        return Err(format!("`{src}`: unexpected text after the call"));
    }
    Ok(call)
}

struct Parser<'a> {
    s: &'a [char],
    i: usize,
    depth: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(|c| c.is_whitespace()) {
            self.i += 1;
        }
    }
    fn call(&mut self) -> Result<Call, String> {
        self.depth += 1;
        // AWS allows ten nested intrinsics in one field.
        if self.depth > 10 {
            return Err("more than 10 nested intrinsic functions".into());
        }
        self.ws();
        let start = self.i;
        while self
            .s
            .get(self.i)
            .is_some_and(|c| c.is_alphanumeric() || *c == '.')
        {
            self.i += 1;
        }
        let name: String = self.s[start..self.i].iter().collect();
        let (func, min, max) = Func::by_name(&name)
            .ok_or_else(|| format!("unsupported intrinsic function `{name}`"))?;
        self.ws();
        if self.s.get(self.i) != Some(&'(') {
            return Err(format!("`{name}` must be followed by `(`"));
        }
        self.i += 1;
        let mut args = Vec::new();
        self.ws();
        if self.s.get(self.i) == Some(&')') {
            self.i += 1;
        } else {
            loop {
                args.push(self.arg()?);
                self.ws();
                match self.s.get(self.i) {
                    Some(',') => self.i += 1,
                    Some(')') => {
                        self.i += 1;
                        break;
                    }
                    _ => return Err(format!("`{name}`: expected `,` or `)`")),
                }
            }
        }
        if args.len() < min || max.is_some_and(|m| args.len() > m) {
            return Err(format!(
                "`{name}` takes {}{} arguments, not {}",
                min,
                max.map(|m| if m == min {
                    String::new()
                } else {
                    format!(" to {m}")
                })
                .unwrap_or_else(|| " or more".into()),
                args.len()
            ));
        }
        self.depth -= 1;
        Ok(Call { func, args })
    }
    fn arg(&mut self) -> Result<Arg, String> {
        self.ws();
        match self.s.get(self.i) {
            Some('\'') => {
                self.i += 1;
                let mut out = String::new();
                loop {
                    match self.s.get(self.i) {
                        None => return Err("unterminated string literal".into()),
                        Some('\\') => {
                            // `\'`, `\{`, `\}` and `\\` escape the next character.
                            let c = self.s.get(self.i + 1).ok_or("dangling `\\`")?;
                            if *c == '{' || *c == '}' {
                                // Keep the escape so States.Format can tell a literal
                                // brace from a placeholder.
                                out.push('\\');
                            }
                            out.push(*c);
                            self.i += 2;
                        }
                        Some('\'') => {
                            self.i += 1;
                            break;
                        }
                        Some(c) => {
                            out.push(*c);
                            self.i += 1;
                        }
                    }
                }
                Ok(Arg::Literal(Value::String(out)))
            }
            Some('$') => {
                let start = self.i;
                let mut quote: Option<char> = None;
                let mut bracket = 0;
                while let Some(&c) = self.s.get(self.i) {
                    match quote {
                        Some(q) if c == q => quote = None,
                        Some(_) => {}
                        None if c == '\'' || c == '"' => quote = Some(c),
                        None if c == '[' => bracket += 1,
                        None if c == ']' => bracket -= 1,
                        None if bracket == 0 && (c == ',' || c == ')' || c.is_whitespace()) => {
                            break
                        }
                        None => {}
                    }
                    self.i += 1;
                }
                let p: String = self.s[start..self.i].iter().collect();
                Ok(Arg::Path(JsonPath::parse(&p)?))
            }
            Some('S') => Ok(Arg::Call(Box::new(self.call()?))),
            Some(_) => {
                let start = self.i;
                while self
                    .s
                    .get(self.i)
                    .is_some_and(|c| !matches!(c, ',' | ')') && !c.is_whitespace())
                {
                    self.i += 1;
                }
                let lit: String = self.s[start..self.i].iter().collect();
                let v: Value = serde_json::from_str(&lit)
                    .map_err(|_| format!("`{lit}` is not a valid argument"))?;
                if v.is_object() || v.is_array() {
                    return Err(format!("`{lit}` is not a valid argument"));
                }
                Ok(Arg::Literal(v))
            }
            None => Err("missing argument".into()),
        }
    }
}

fn fail(msg: impl Into<String>) -> StatesError {
    StatesError::new(INTRINSIC_FAILURE, msg)
}

fn as_int(v: &Value, what: &str) -> Result<i64, StatesError> {
    v.as_i64()
        .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
        .ok_or_else(|| fail(format!("{what} must be an integer, got {v}")))
}

fn as_str<'v>(v: &'v Value, what: &str) -> Result<&'v str, StatesError> {
    v.as_str()
        .ok_or_else(|| fail(format!("{what} must be a string, got {v}")))
}

fn as_arr<'v>(v: &'v Value, what: &str) -> Result<&'v Vec<Value>, StatesError> {
    v.as_array()
        .ok_or_else(|| fail(format!("{what} must be an array, got {v}")))
}

impl Call {
    pub fn eval(&self, env: &mut Env<'_>) -> Result<Value, StatesError> {
        let mut a = Vec::with_capacity(self.args.len());
        for arg in &self.args {
            a.push(match arg {
                Arg::Literal(v) => v.clone(),
                Arg::Path(p) => {
                    let root = if p.context { env.context } else { env.input };
                    p.select(root)
                        .ok_or_else(|| fail(format!("the path `{}` was not found", p.source)))?
                }
                Arg::Call(c) => c.eval(env)?,
            });
        }
        match self.func {
            Func::Format => {
                let template = as_str(&a[0], "the template of States.Format")?;
                format(template, &a[1..])
            }
            Func::StringToJson => serde_json::from_str(as_str(&a[0], "the argument")?)
                .map_err(|e| fail(format!("States.StringToJson: {e}"))),
            Func::JsonToString => Ok(Value::String(a[0].to_string())),
            Func::Array => Ok(Value::Array(a)),
            Func::ArrayPartition => {
                let arr = as_arr(&a[0], "the first argument")?;
                let size = as_int(&a[1], "the chunk size")?;
                if size <= 0 {
                    return Err(fail("the chunk size must be positive"));
                }
                Ok(Value::Array(
                    arr.chunks(size as usize)
                        .map(|c| Value::Array(c.to_vec()))
                        .collect(),
                ))
            }
            Func::ArrayContains => Ok(Value::Bool(
                as_arr(&a[0], "the first argument")?.contains(&a[1]),
            )),
            Func::ArrayRange => {
                let (start, end, step) = (
                    as_int(&a[0], "start")?,
                    as_int(&a[1], "end")?,
                    as_int(&a[2], "step")?,
                );
                if step == 0 {
                    return Err(fail("the step of States.ArrayRange must not be 0"));
                }
                let mut out = Vec::new();
                let mut x = start;
                while (step > 0 && x <= end) || (step < 0 && x >= end) {
                    out.push(Value::from(x));
                    // AWS caps the generated array at 1000 items.
                    if out.len() > 1000 {
                        return Err(fail("States.ArrayRange makes more than 1000 items"));
                    }
                    x += step;
                }
                Ok(Value::Array(out))
            }
            Func::ArrayGetItem => {
                let arr = as_arr(&a[0], "the first argument")?;
                let i = as_int(&a[1], "the index")?;
                usize::try_from(i)
                    .ok()
                    .and_then(|i| arr.get(i))
                    .cloned()
                    .ok_or_else(|| fail(format!("index {i} is out of bounds")))
            }
            Func::ArrayLength => Ok(Value::from(as_arr(&a[0], "the argument")?.len())),
            Func::ArrayUnique => {
                let mut out: Vec<Value> = Vec::new();
                for v in as_arr(&a[0], "the argument")? {
                    if !out.contains(v) {
                        out.push(v.clone());
                    }
                }
                Ok(Value::Array(out))
            }
            Func::Base64Encode => Ok(Value::String(
                base64::engine::general_purpose::STANDARD
                    .encode(as_str(&a[0], "the argument")?.as_bytes()),
            )),
            Func::Base64Decode => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(as_str(&a[0], "the argument")?)
                    .map_err(|e| fail(format!("States.Base64Decode: {e}")))?;
                String::from_utf8(bytes)
                    .map(Value::String)
                    .map_err(|_| fail("States.Base64Decode: the data is not UTF-8"))
            }
            Func::Hash => {
                let data = match &a[0] {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let algo = as_str(&a[1], "the algorithm")?;
                let d = data.as_bytes();
                let hex = match algo {
                    "MD5" => hex::encode(md5::Md5::digest(d)),
                    "SHA-1" => hex::encode(sha1::Sha1::digest(d)),
                    "SHA-256" => hex::encode(sha2::Sha256::digest(d)),
                    "SHA-384" => hex::encode(sha2::Sha384::digest(d)),
                    "SHA-512" => hex::encode(sha2::Sha512::digest(d)),
                    other => return Err(fail(format!("unknown hash algorithm `{other}`"))),
                };
                Ok(Value::String(hex))
            }
            Func::JsonMerge => {
                let (Value::Object(x), Value::Object(y)) = (&a[0], &a[1]) else {
                    return Err(fail("States.JsonMerge merges two objects"));
                };
                if a[2] != Value::Bool(false) {
                    // Step Functions only implements the shallow merge.
                    return Err(fail(
                        "States.JsonMerge supports only shallow merging (false)",
                    ));
                }
                let mut out: Map<String, Value> = x.clone();
                for (k, v) in y {
                    out.insert(k.clone(), v.clone());
                }
                Ok(Value::Object(out))
            }
            Func::MathRandom => {
                let start = as_int(&a[0], "start")?;
                let end = as_int(&a[1], "end")?;
                if end <= start {
                    return Err(fail("States.MathRandom needs start < end"));
                }
                let n = if let Some(seed) = a.get(2) {
                    let mut rng = rand::rngs::StdRng::seed_from_u64(as_int(seed, "seed")? as u64);
                    rng.gen_range(start..end)
                } else {
                    env.rng.gen_range(start..end)
                };
                Ok(Value::from(n))
            }
            Func::MathAdd => {
                let x = as_int(&a[0], "the first argument")?;
                let y = as_int(&a[1], "the second argument")?;
                x.checked_add(y)
                    .map(Value::from)
                    .ok_or_else(|| fail("States.MathAdd overflows"))
            }
            Func::StringSplit => {
                let s = as_str(&a[0], "the string")?;
                let delims: Vec<char> = as_str(&a[1], "the delimiter")?.chars().collect();
                Ok(Value::Array(
                    s.split(|c| delims.contains(&c))
                        .filter(|p| !p.is_empty())
                        .map(|p| Value::String(p.to_string()))
                        .collect(),
                ))
            }
            Func::Uuid => {
                let mut bytes = [0u8; 16];
                env.rng.fill_bytes(&mut bytes);
                Ok(Value::String(
                    uuid::Builder::from_random_bytes(bytes)
                        .into_uuid()
                        .to_string(),
                ))
            }
        }
    }
}

fn format(template: &str, args: &[Value]) -> Result<Value, StatesError> {
    let mut out = String::new();
    let mut next = 0;
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                let v = args
                    .get(next)
                    .ok_or_else(|| fail("States.Format has more `{}` than arguments"))?;
                next += 1;
                match v {
                    Value::String(s) => out.push_str(s),
                    Value::Object(_) | Value::Array(_) => {
                        return Err(fail("States.Format arguments must be scalars"))
                    }
                    other => out.push_str(&other.to_string()),
                }
            }
            c => out.push(c),
        }
    }
    if next != args.len() {
        return Err(fail("States.Format has more arguments than `{}`"));
    }
    Ok(Value::String(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(expr: &str, input: Value) -> Result<Value, StatesError> {
        let call = parse(expr).map_err(fail)?;
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        call.eval(&mut Env {
            input: &input,
            context: &json!({}),
            rng: &mut rng,
        })
    }

    // Every expected value below is an example of
    // https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html
    #[test]
    fn array_intrinsics_give_the_documented_results() {
        assert_eq!(
            run("States.Array($.Id)", json!({"Id": 123456})),
            Ok(json!([123456]))
        );
        let nine = json!({"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9], "index": 5});
        assert_eq!(
            run("States.ArrayPartition($.inputArray,4)", nine.clone()),
            Ok(json!([[1, 2, 3, 4], [5, 6, 7, 8], [9]]))
        );
        assert_eq!(
            run("States.ArrayContains($.inputArray, 5)", nine.clone()),
            Ok(json!(true))
        );
        assert_eq!(
            run("States.ArrayRange(1, 9, 2)", json!({})),
            Ok(json!([1, 3, 5, 7, 9]))
        );
        assert_eq!(
            run("States.ArrayGetItem($.inputArray, $.index)", nine.clone()),
            Ok(json!(6))
        );
        assert_eq!(run("States.ArrayLength($.inputArray)", nine), Ok(json!(9)));
        assert_eq!(
            run(
                "States.ArrayUnique($.inputArray)",
                json!({"inputArray": [1, 2, 3, 3, 3, 3, 3, 3, 4]})
            ),
            Ok(json!([1, 2, 3, 4]))
        );
    }

    #[test]
    fn encoding_json_and_string_intrinsics_give_the_documented_results() {
        assert_eq!(
            run(
                "States.Base64Encode($.input)",
                json!({"input": "Data to encode"})
            ),
            Ok(json!("RGF0YSB0byBlbmNvZGU="))
        );
        assert_eq!(
            run(
                "States.Base64Decode($.base64)",
                json!({"base64": "RGF0YSB0byBlbmNvZGU="})
            ),
            Ok(json!("Data to encode"))
        );
        assert_eq!(
            run(
                "States.JsonMerge($.json1, $.json2, false)",
                json!({"json1": {"a": {"a1": 1, "a2": 2}, "b": 2},
                       "json2": {"a": {"a3": 1, "a4": 2}, "c": 3}})
            ),
            Ok(json!({"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3}))
        );
        assert_eq!(
            run(
                "States.StringToJson($.escapedJsonString)",
                json!({"escapedJsonString": "{\"foo\": \"bar\"}"})
            ),
            Ok(json!({"foo": "bar"}))
        );
        assert_eq!(
            run(
                "States.JsonToString($.unescapedJson)",
                json!({"unescapedJson": {"foo": "bar"}})
            ),
            Ok(json!("{\"foo\":\"bar\"}"))
        );
        assert_eq!(
            run(
                "States.MathAdd($.value1, $.step)",
                json!({"value1": 111, "step": -1})
            ),
            Ok(json!(110))
        );
        assert_eq!(
            run(
                "States.StringSplit($.inputString, $.splitter)",
                json!({"inputString": "1,2,3,4,5", "splitter": ","})
            ),
            Ok(json!(["1", "2", "3", "4", "5"]))
        );
        assert_eq!(
            run(
                "States.StringSplit($.inputString, $.splitter)",
                json!({"inputString": "This.is+a,test=string", "splitter": ".+,="})
            ),
            Ok(json!(["This", "is", "a", "test", "string"]))
        );
        assert_eq!(
            run(
                "States.Format('Hello, my name is {}.', $.name)",
                json!({"name": "Arnav"})
            ),
            Ok(json!("Hello, my name is Arnav."))
        );
        assert_eq!(
            run("States.Format('literal \\{\\} then {}', 3)", json!({})),
            Ok(json!("literal {} then 3"))
        );
    }

    #[test]
    fn hashes_random_numbers_and_uuids_are_well_formed_and_seedable() {
        assert_eq!(
            run(
                "States.Hash($.Data, $.Algorithm)",
                json!({"Data": "input data", "Algorithm": "SHA-1"})
            ),
            Ok(json!("aaff4a450a104cd177d28d18d74485e8cae074b7"))
        );
        let a = run("States.MathRandom(1, 999, 1234)", json!({}));
        assert_eq!(a, run("States.MathRandom(1, 999, 1234)", json!({})));
        let n = a.ok().and_then(|v| v.as_i64()).unwrap_or(0);
        assert!((1..999).contains(&n));
        let id = run("States.UUID()", json!({})).ok();
        assert_eq!(id.as_ref().and_then(|v| v.as_str()).map(str::len), Some(36));
    }

    #[test]
    fn unknown_functions_and_wrong_argument_counts_are_refused_when_parsed() {
        assert!(parse("States.Nope(1)").is_err());
        assert!(parse("States.ArrayLength(1, 2)").is_err());
        assert!(parse("States.MathAdd(1)").is_err());
        assert!(parse("States.UUID() extra").is_err());
    }
}
