//! `terraform output -json`: reading it from a file or from a Terraform working directory.
//!
//! The format is an object of outputs, each `{"sensitive": bool, "type": <type>, "value": <v>}`.
//! Sensitive values are kept (rendering may need them) but never printed: [`Outputs`] has no
//! Debug/Display that shows values.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

#[derive(Deserialize)]
struct RawOutput {
    #[serde(default)]
    sensitive: bool,
    value: serde_json::Value,
}

/// Terraform outputs by name.
#[derive(Clone, Default)]
pub struct Outputs {
    values: BTreeMap<String, serde_json::Value>,
    sensitive: Vec<String>,
}

impl std::fmt::Debug for Outputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outputs")
            .field("names", &self.values.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OutputsError {
    /// The file cannot be read.
    #[error("cannot read Terraform outputs {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// The text is not `terraform output -json` output.
    #[error("{origin} is not `terraform output -json` output: {reason}")]
    Format { origin: String, reason: String },
}

impl Outputs {
    pub fn from_file(path: &Path) -> Result<Outputs, OutputsError> {
        let text = std::fs::read_to_string(path).map_err(|source| OutputsError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Outputs::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, origin: &str) -> Result<Outputs, OutputsError> {
        let format = |reason: String| OutputsError::Format {
            origin: origin.to_string(),
            reason,
        };
        let raw: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format(format!("invalid JSON ({e})")))?;
        let serde_json::Value::Object(map) = raw else {
            return Err(format("expected a JSON object of outputs".to_string()));
        };
        let mut out = Outputs::default();
        for (name, v) in map {
            let o: RawOutput = serde_json::from_value(v).map_err(|e| {
                format(format!(
                    "output `{name}` must be an object with `value`, `type` and `sensitive` ({e})"
                ))
            })?;
            if o.sensitive {
                out.sensitive.push(name.clone());
            }
            out.values.insert(name, o.value);
        }
        Ok(out)
    }

    pub fn get(&self, name: &str) -> Option<&serde_json::Value> {
        self.values.get(name)
    }

    pub fn names(&self) -> Vec<&str> {
        self.values.keys().map(String::as_str).collect()
    }

    pub fn sensitive(&self) -> &[String] {
        &self.sensitive
    }

    pub fn is_sensitive(&self, name: &str) -> bool {
        self.sensitive.iter().any(|s| s == name)
    }

    /// The values, for the expression evaluation scope.
    pub fn values(&self) -> &BTreeMap<String, serde_json::Value> {
        &self.values
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_terraform_format_and_rejects_others() {
        let o = Outputs::parse(
            r#"{"a":{"sensitive":false,"type":"string","value":"x"},"s":{"sensitive":true,"type":"string","value":"hunter2"}}"#,
            "t",
        )
        .unwrap();
        assert_eq!(o.get("a").unwrap(), "x");
        assert!(o.is_sensitive("s"));
        assert!(!format!("{o:?}").contains("hunter2"));
        assert!(Outputs::parse(r#"{"a":"x"}"#, "t").is_err());
        assert!(Outputs::parse("[]", "t").is_err());
        assert!(Outputs::parse("{", "t").is_err());
    }
}
