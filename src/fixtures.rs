//! Reading TOML fixture files with errors that name the file, line and column.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct FixtureError {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for FixtureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let (Some(line), Some(column)) = (self.line, self.column) {
            write!(f, ":{line}:{column}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// A parsed fixture document with its source kept for pointing at spans later.
pub struct Document<T> {
    pub path: PathBuf,
    pub source: String,
    pub value: T,
}

impl<T> Document<T> {
    pub fn error_at(&self, span: Range<usize>, message: impl Into<String>) -> FixtureError {
        error_in(&self.path, &self.source, Some(span), message.into())
    }
}

pub fn read<T: DeserializeOwned>(path: &Path) -> Result<Document<T>, FixtureError> {
    let source = std::fs::read_to_string(path).map_err(|err| FixtureError {
        path: path.to_path_buf(),
        line: None,
        column: None,
        message: format!("cannot read the file: {err}"),
    })?;
    parse(path, source)
}

pub fn parse<T: DeserializeOwned>(
    path: &Path,
    source: String,
) -> Result<Document<T>, FixtureError> {
    match toml::from_str::<T>(&source) {
        Ok(value) => Ok(Document {
            path: path.to_path_buf(),
            source,
            value,
        }),
        Err(err) => Err(error_in(
            path,
            &source,
            err.span(),
            err.message().trim().to_string(),
        )),
    }
}

fn error_in(
    path: &Path,
    source: &str,
    span: Option<Range<usize>>,
    message: String,
) -> FixtureError {
    let (line, column) = match span {
        Some(span) => {
            let before = &source[..span.start.min(source.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            (Some(line), Some(column))
        }
        None => (None, None),
    };
    FixtureError {
        path: path.to_path_buf(),
        line,
        column,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        name: String,
    }

    #[test]
    fn unknown_keys_point_at_their_line() {
        let err = parse::<Sample>(Path::new("x.toml"), "name = \"a\"\nnmae = \"b\"\n".into())
            .err()
            .unwrap();
        assert_eq!(err.line, Some(2));
        assert!(
            err.to_string()
                .starts_with("x.toml:2:1: unknown field `nmae`"),
            "{err}"
        );
    }
}
