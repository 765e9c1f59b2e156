//! The one door to the YAML library. Every YAML call in orgsync goes through this module,
//! so switching libraries costs one module.
//!
//! Config files are parsed into a [`Node`] tree that keeps the position of every key and
//! value, under resource limits, so that later stages can report every problem at once and
//! point at it. Typed deserialization would stop at the first problem.

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};

/// Parses a YAML document into `T` (used for non-config files, e.g. emulator state).
/// Errors are rendered messages that name the line and column.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_saphyr::from_str(text).map_err(|e| e.to_string())
}

/// Where a node starts in its file: 1-based line and column (in characters), and its
/// length in characters (0 when unknown or the node spans several lines).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
    pub len: usize,
}

/// A YAML value with its position. Mappings keep their entries in file order, duplicates
/// included, so that a duplicate can be reported at both places.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: Value,
    pub pos: Pos,
    /// The node's explicit YAML tag as the library resolved it (`!!binary` is
    /// `tag:yaml.org,2002:binary`, a local `!foo` stays `!foo`), `None` without one. A
    /// config file has no use for tags, and a tag can make a value decode to something
    /// other than what it reads as, so config validation refuses every one.
    pub tag: Option<String>,
}

/// How a resolved tag is written in a file: `tag:yaml.org,2002:binary` as `!!binary`.
pub fn tag_spelling(tag: &str) -> String {
    match tag.strip_prefix("tag:yaml.org,2002:") {
        Some(core) => format!("!!{core}"),
        None => tag.to_string(),
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Value {
    /// How a person would call this kind of value in an error message.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "nothing (null)",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "a number",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// A YAML syntax error or an exceeded resource limit.
#[derive(Clone, Debug, PartialEq)]
pub struct ParseError {
    pub message: String,
    /// `None` when the library could not say where.
    pub pos: Option<Pos>,
}

/// Deserializes config text straight into typed values with the same YAML options as
/// [`parse_tree`] (strict booleans, duplicate keys rejected). orgsync reads configs through
/// the tree; this exists so tests can check that the strict serde types agree with it.
pub fn config_from_str<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    let options = serde_saphyr::options! {
        strict_booleans: true,
        with_snippet: false,
    };
    serde_saphyr::from_str_with_options(text, options).map_err(|e| e.to_string())
}

/// Limits that stop hostile input: a config file never needs more.
pub const MAX_DEPTH: usize = 32;
const MAX_NODES: usize = 1_000_000;
const MAX_ALIAS_REPLAYED_EVENTS: usize = 10_000;

/// Parses one YAML document into a position-carrying tree, bounded in depth, node count
/// and alias expansion. The caller bounds the input size before calling.
pub fn parse_tree(text: &str) -> Result<Node, ParseError> {
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: MAX_DEPTH,
            max_nodes: MAX_NODES,
            max_events: 4 * MAX_NODES,
            max_documents: 1,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: MAX_ALIAS_REPLAYED_EVENTS,
        },
        // Duplicates reach the tree, and config validation reports both places.
        duplicate_keys: serde_saphyr::options::DuplicateKeyPolicy::PassThrough,
        with_snippet: false,
        // Only `true`/`false` are booleans: YAML 1.1's `n`, `no`, `off` are text here.
        strict_booleans: true,
    };
    serde_saphyr::from_str_with_options::<Node>(text, options).map_err(|err| {
        let pos = err.location().and_then(|loc| {
            (loc.line() > 0).then(|| Pos {
                line: usize::try_from(loc.line()).unwrap_or(usize::MAX),
                column: usize::try_from(loc.column()).unwrap_or(1).max(1),
                len: 0,
            })
        });
        ParseError {
            message: err.without_snippet().to_string(),
            pos,
        }
    })
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let spanned = serde_saphyr::Spanned::<serde_saphyr::Tagged<Value>>::deserialize(d)?;
        let loc = spanned.referenced;
        let len = usize::try_from(loc.span().len()).unwrap_or(0);
        let serde_saphyr::Tagged(value, tag) = spanned.value;
        Ok(Node {
            value,
            pos: Pos {
                line: usize::try_from(loc.line()).unwrap_or(0),
                column: usize::try_from(loc.column()).unwrap_or(0),
                len,
            },
            tag,
        })
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Int(v.into()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        Ok(i128::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some((k, v)) = map.next_entry::<Node, Node>()? {
            entries.push((k, v));
        }
        Ok(Value::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_keeps_duplicates_and_positions() {
        let tree = parse_tree("a: 1\nb: [x, 'y']\na: 2\n").expect("valid YAML");
        let Value::Map(entries) = tree.value else {
            panic!("not a map: {tree:?}");
        };
        let keys: Vec<(String, usize)> = entries
            .iter()
            .map(|(k, _)| (format!("{:?}", k.value), k.pos.line))
            .collect();
        assert_eq!(keys.len(), 3, "{keys:?}");
        assert_eq!(entries[2].0.pos.line, 3);
        assert_eq!(entries[1].1.pos.column, 4);
    }

    #[test]
    fn yaml_1_1_booleans_are_strings() {
        let tree = parse_tree("n: yes\n").expect("valid YAML");
        assert_eq!(
            tree.value,
            Value::Map(vec![(
                Node {
                    value: Value::Str("n".into()),
                    pos: Pos {
                        line: 1,
                        column: 1,
                        len: 1
                    },
                    tag: None,
                },
                Node {
                    value: Value::Str("yes".into()),
                    pos: Pos {
                        line: 1,
                        column: 4,
                        len: 3
                    },
                    tag: None,
                }
            )])
        );
    }

    #[test]
    fn tags_are_kept_on_the_node_they_are_written_on() {
        let tree =
            parse_tree("a: !!binary aGVsbG8=\n!!str b: !local x\nc: plain\n").expect("valid");
        let Value::Map(entries) = tree.value else {
            panic!("not a map");
        };
        let tags: Vec<(Option<String>, Option<String>)> = entries
            .iter()
            .map(|(k, v)| {
                (
                    k.tag.as_deref().map(tag_spelling),
                    v.tag.as_deref().map(tag_spelling),
                )
            })
            .collect();
        assert_eq!(
            tags,
            [
                (None, Some("!!binary".to_string())),
                (Some("!!str".to_string()), Some("!local".to_string())),
                (None, None),
            ]
        );
    }

    #[test]
    fn hostile_input_is_an_error_not_a_hang() {
        let bomb = "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n";
        assert!(parse_tree(bomb).is_err());
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse_tree(&deep).is_err());
        let mut block = String::new();
        for i in 0..200 {
            block.push_str(&" ".repeat(i));
            block.push_str("k:\n");
        }
        assert!(parse_tree(&block).is_err());
    }
}
