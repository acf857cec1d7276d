//! JSONPath as Step Functions uses it: reference paths (`$.a.b`, `$.a[0]`, `$['x']`) that
//! select or create one node, plus the wildcard and slice forms AWS accepts in
//! `InputPath`, `OutputPath`, `ItemsPath` and `.$` fields. Filters (`?()`), script
//! expressions and deep scan (`..`) are refused when the definition is loaded.

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub enum Seg {
    Field(String),
    Index(usize),
    /// `[*]` or `.*`
    Wildcard,
    /// `[a:b]`, end exclusive
    Slice(Option<usize>, Option<usize>),
}

/// A parsed path. `context` is true for `$$…` (the context object).
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath {
    pub source: String,
    pub context: bool,
    pub segs: Vec<Seg>,
}

impl JsonPath {
    pub fn parse(src: &str) -> Result<JsonPath, String> {
        let (context, rest) = if let Some(r) = src.strip_prefix("$$") {
            (true, r)
        } else if let Some(r) = src.strip_prefix('$') {
            (false, r)
        } else {
            return Err(format!(
                "`{src}` is not a JSONPath (it must start with `$`)"
            ));
        };
        let chars: Vec<char> = rest.chars().collect();
        let mut segs = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '.' => {
                    if chars.get(i + 1) == Some(&'.') {
                        return Err(format!("`{src}`: deep scan `..` is not supported"));
                    }
                    let start = i + 1;
                    let mut j = start;
                    while j < chars.len() && chars[j] != '.' && chars[j] != '[' {
                        j += 1;
                    }
                    let name: String = chars[start..j].iter().collect();
                    if name.is_empty() {
                        return Err(format!("`{src}`: empty field name"));
                    }
                    segs.push(if name == "*" {
                        Seg::Wildcard
                    } else {
                        Seg::Field(name)
                    });
                    i = j;
                }
                '[' => {
                    let close = find_close(&chars, i + 1)
                        .ok_or_else(|| format!("`{src}`: unclosed `[`"))?;
                    let inner: String = chars[i + 1..close].iter().collect();
                    segs.push(parse_bracket(src, inner.trim())?);
                    i = close + 1;
                }
                c => return Err(format!("`{src}`: unexpected character `{c}`")),
            }
        }
        Ok(JsonPath {
            source: src.to_string(),
            context,
            segs,
        })
    }

    /// A reference path names at most one node (no wildcard, no slice).
    pub fn is_reference(&self) -> bool {
        self.segs
            .iter()
            .all(|s| matches!(s, Seg::Field(_) | Seg::Index(_)))
    }

    /// The selected value. A definite path yields the node itself (`$[0].v` on
    /// `[{"v":1}]` is `1`); an indefinite one yields the array of matches. `None` when a
    /// definite path does not exist.
    pub fn select(&self, root: &Value) -> Option<Value> {
        if self.is_reference() {
            let mut cur = root;
            for s in &self.segs {
                cur = match (s, cur) {
                    (Seg::Field(f), Value::Object(m)) => m.get(f)?,
                    (Seg::Index(i), Value::Array(a)) => a.get(*i)?,
                    _ => return None,
                };
            }
            return Some(cur.clone());
        }
        let mut nodes: Vec<&Value> = vec![root];
        for s in &self.segs {
            let mut next = Vec::new();
            for n in nodes {
                match (s, n) {
                    (Seg::Field(f), Value::Object(m)) => next.extend(m.get(f)),
                    (Seg::Index(i), Value::Array(a)) => next.extend(a.get(*i)),
                    (Seg::Wildcard, Value::Array(a)) => next.extend(a.iter()),
                    (Seg::Wildcard, Value::Object(m)) => next.extend(m.values()),
                    (Seg::Slice(a, b), Value::Array(arr)) => {
                        let start = a.unwrap_or(0).min(arr.len());
                        let end = b.unwrap_or(arr.len()).min(arr.len());
                        if start < end {
                            next.extend(arr[start..end].iter());
                        }
                    }
                    _ => {}
                }
            }
            nodes = next;
        }
        Some(Value::Array(nodes.into_iter().cloned().collect()))
    }

    /// Writes `value` at this (reference) path inside `root`, creating objects on the way
    /// as `ResultPath` does. Fails when the path crosses a non-object or a missing index.
    pub fn set(&self, root: Value, value: Value) -> Result<Value, String> {
        if !self.is_reference() {
            return Err(format!("`{}` is not a reference path", self.source));
        }
        if self.segs.is_empty() {
            return Ok(value);
        }
        let mut root = root;
        set_in(&mut root, &self.segs, value).map_err(|m| format!("`{}`: {m}", self.source))?;
        Ok(root)
    }
}

fn set_in(node: &mut Value, segs: &[Seg], value: Value) -> Result<(), String> {
    let Some((first, rest)) = segs.split_first() else {
        *node = value;
        return Ok(());
    };
    match first {
        Seg::Field(f) => {
            if !node.is_object() {
                // ResultPath may only add fields to objects; a scalar in the way is an error.
                if node.is_null() {
                    *node = Value::Object(Map::new());
                } else {
                    return Err(format!("cannot set field `{f}` on a non-object"));
                }
            }
            let Value::Object(m) = node else {
                return Err(format!("cannot set field `{f}` on a non-object"));
            };
            let child = m.entry(f.clone()).or_insert(Value::Null);
            if rest.is_empty() {
                *child = value;
                Ok(())
            } else {
                if !child.is_object() && !child.is_array() {
                    *child = Value::Object(Map::new());
                }
                set_in(child, rest, value)
            }
        }
        Seg::Index(i) => match node {
            Value::Array(a) if *i < a.len() => set_in(&mut a[*i], rest, value),
            _ => Err(format!("index [{i}] does not exist")),
        },
        _ => Err("not a reference path".into()),
    }
}

fn find_close(chars: &[char], from: usize) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut i = from;
    while i < chars.len() {
        let c = chars[i];
        match quote {
            Some(_) if c == '\\' => i += 1,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == ']' => return Some(i),
            None => {}
        }
        i += 1;
    }
    None
}

fn parse_bracket(src: &str, inner: &str) -> Result<Seg, String> {
    if inner == "*" {
        return Ok(Seg::Wildcard);
    }
    if inner.starts_with('?') || inner.starts_with('(') {
        return Err(format!(
            "`{src}`: filter and script expressions are not supported"
        ));
    }
    for q in ['\'', '"'] {
        if inner.len() >= 2 && inner.starts_with(q) && inner.ends_with(q) {
            let body = &inner[1..inner.len() - 1];
            let mut out = String::new();
            let mut esc = false;
            for c in body.chars() {
                if esc {
                    out.push(c);
                    esc = false;
                } else if c == '\\' {
                    esc = true;
                } else {
                    out.push(c);
                }
            }
            return Ok(Seg::Field(out));
        }
    }
    if let Some((a, b)) = inner.split_once(':') {
        let num = |s: &str| -> Result<Option<usize>, String> {
            let s = s.trim();
            if s.is_empty() {
                Ok(None)
            } else {
                s.parse::<usize>()
                    .map(Some)
                    .map_err(|_| format!("`{src}`: slice bound `{s}` is not supported"))
            }
        };
        if b.contains(':') {
            return Err(format!("`{src}`: slice steps are not supported"));
        }
        return Ok(Seg::Slice(num(a)?, num(b)?));
    }
    inner
        .parse::<usize>()
        .map(Seg::Index)
        .map_err(|_| format!("`{src}`: `[{inner}]` is not supported"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sel(p: &str, v: Value) -> Option<Value> {
        JsonPath::parse(p).ok()?.select(&v)
    }

    // https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-paths.html
    // (reference paths); `$[0].v` on `[{"v":1}]` is the node itself.
    #[test]
    fn a_definite_path_into_an_array_yields_the_node_not_a_list() {
        assert_eq!(sel("$[0].v", json!([{"v": 1}])), Some(json!(1)));
        assert_eq!(sel("$.a.b", json!({"a": {"b": 2}})), Some(json!(2)));
        assert_eq!(sel("$['a b']", json!({"a b": 3})), Some(json!(3)));
        assert_eq!(sel("$[\"x\"].y", json!({"x": {"y": 4}})), Some(json!(4)));
        assert_eq!(sel("$", json!(5)), Some(json!(5)));
        assert_eq!(sel("$.missing", json!({})), None);
    }

    // https://docs.aws.amazon.com/step-functions/latest/dg/input-output-inputpath-params.html
    // "If you apply the path $.a[0:2], the following is the result. [ 1, 2 ]"
    #[test]
    fn a_slice_yields_the_selected_elements() {
        assert_eq!(
            sel("$.a[0:2]", json!({"a": [1, 2, 3, 4]})),
            Some(json!([1, 2]))
        );
        assert_eq!(
            sel("$.a[*].b", json!({"a": [{"b": 1}, {"b": 2}]})),
            Some(json!([1, 2]))
        );
    }

    #[test]
    fn filters_and_deep_scan_are_refused() {
        assert!(JsonPath::parse("$..a").is_err());
        assert!(JsonPath::parse("$.a[?(@.x)]").is_err());
        assert!(JsonPath::parse("a.b").is_err());
    }

    #[test]
    fn setting_a_path_creates_the_objects_on_the_way() {
        let p = JsonPath::parse("$.a.b").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            p.set(json!({"x": 1}), json!(2)),
            Ok(json!({"x": 1, "a": {"b": 2}}))
        );
        let root = JsonPath::parse("$").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(root.set(json!({"x": 1}), json!(2)), Ok(json!(2)));
    }
}
