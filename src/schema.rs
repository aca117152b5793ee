//! The JSON Schemas of the format (draft 2020-12), generated from the types
//! in `model.rs`, and the validators built from them once per run.

use crate::model::{Agency, Settings};
use schemars::generate::SchemaSettings;
use serde_json::Value;

pub const AGENCY_SCHEMA_FILE: &str = "agency.schema.json";
pub const SETTINGS_SCHEMA_FILE: &str = "settings.schema.json";

fn generate<T: schemars::JsonSchema>() -> Value {
    let generator = SchemaSettings::draft2020_12().into_generator();
    let schema = generator.into_root_schema_for::<T>();
    serde_json::to_value(schema).expect("a schema is JSON")
}

/// The schema of one Agency document (`agencies/**/*.yaml`).
pub fn agency_schema() -> Value {
    generate::<Agency>()
}

/// The schema of `hopthu.yaml`.
pub fn settings_schema() -> Value {
    generate::<Settings>()
}

/// The committed files in `schema/`, as `(file name, pretty JSON)`.
pub fn files() -> Vec<(&'static str, String)> {
    [
        (AGENCY_SCHEMA_FILE, agency_schema()),
        (SETTINGS_SCHEMA_FILE, settings_schema()),
    ]
    .into_iter()
    .map(|(name, v)| {
        let mut text = serde_json::to_string_pretty(&v).expect("schema serializes");
        text.push('\n');
        (name, text)
    })
    .collect()
}

pub struct Validators {
    pub agency: jsonschema::Validator,
    pub settings: jsonschema::Validator,
}

impl Validators {
    pub fn new() -> Validators {
        let build = |schema: &Value| {
            jsonschema::options()
                .with_draft(jsonschema::Draft::Draft202012)
                .should_validate_formats(true)
                .build(schema)
                .expect("the generated schema compiles")
        };
        Validators {
            agency: build(&agency_schema()),
            settings: build(&settings_schema()),
        }
    }
}

impl Default for Validators {
    fn default() -> Self {
        Self::new()
    }
}

/// The property names a schema allows at a JSON pointer into a document:
/// used for "did you mean" on misspelled keys.
pub fn allowed_keys(schema: &Value, instance_pointer: &str) -> Vec<String> {
    at(schema, instance_pointer)
        .and_then(|node| node.get("properties"))
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// The schema of the value at a JSON pointer into a document (`$ref`s and
/// `Option`s followed), for the limits a message names.
pub fn at<'a>(schema: &'a Value, instance_pointer: &str) -> Option<&'a Value> {
    let root = schema;
    let mut node = resolve(root, schema);
    for token in instance_pointer.split('/').filter(|t| !t.is_empty()) {
        let token = token.replace("~1", "/").replace("~0", "~");
        let next = if token.parse::<usize>().is_ok() {
            node.get("items")
        } else {
            node.get("properties")
                .and_then(|p| p.get(&token))
                .or_else(|| node.get("additionalProperties").filter(|a| a.is_object()))
        };
        node = resolve(root, next?);
    }
    Some(node)
}

/// Follow `$ref` and the `anyOf: [X, null]` schemars makes for `Option<X>`.
fn resolve<'a>(root: &'a Value, mut node: &'a Value) -> &'a Value {
    for _ in 0..16 {
        if let Some(r) = node.get("$ref").and_then(Value::as_str) {
            match r.strip_prefix('#').and_then(|p| root.pointer(p)) {
                Some(target) => node = target,
                None => return node,
            }
        } else if let Some(any) = node.get("anyOf").and_then(Value::as_array) {
            match any
                .iter()
                .find(|s| s.get("type") != Some(&Value::from("null")))
            {
                Some(s) => node = s,
                None => return node,
            }
        } else {
            return node;
        }
    }
    node
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schemas_are_draft_2020_12_and_carry_the_naming_patterns() {
        let a = agency_schema();
        assert_eq!(a["$schema"], "https://json-schema.org/draft/2020-12/schema");
        assert_eq!(
            a["properties"]["abbr"]["pattern"],
            crate::model::ABBR_PATTERN
        );
        assert_eq!(a["additionalProperties"], false);
        let s = settings_schema();
        assert_eq!(
            s["properties"]["domain"]["pattern"],
            crate::model::DOMAIN_PATTERN
        );
    }

    #[test]
    fn allowed_keys_follow_refs_into_lists() {
        let a = agency_schema();
        let keys = allowed_keys(&a, "/people/0");
        assert!(keys.contains(&"address".to_string()), "{keys:?}");
        assert!(allowed_keys(&a, "").contains(&"people".to_string()));
        let lock = allowed_keys(&a, "/people/0/lock");
        assert!(lock.contains(&"reason".to_string()), "{lock:?}");
    }
}
