//! The community's shared parser vectors (`tests/vectors/`, from PyPI's
//! `irc-parser-tests`): every line of `msg-split.yaml` parses into its
//! atoms, and every set of atoms in `msg-join.yaml` is written as one of
//! its lines (and parses back into the same atoms).

use std::collections::BTreeMap;

use bytes::BytesMut;
use chat_irc::{Message, parse, write};
use yaml_rust2::{Yaml, YamlLoader};

/// A message as the vectors describe it: tags as a map (last one wins).
#[derive(Debug, PartialEq, Eq)]
struct Atoms {
    tags: BTreeMap<String, String>,
    source: Option<String>,
    verb: String,
    params: Vec<String>,
}

impl Atoms {
    fn of(message: &Message<'_>) -> Atoms {
        Atoms {
            tags: message
                .tags
                .iter()
                .map(|(k, v)| (k.to_owned(), v.into_owned()))
                .collect(),
            source: message.source.map(str::to_owned),
            verb: message.command.to_owned(),
            params: message.params.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    fn from_yaml(atoms: &Yaml) -> Atoms {
        let text = |y: &Yaml| y.as_str().expect("a string").to_owned();
        Atoms {
            tags: atoms["tags"]
                .as_hash()
                .map(|tags| tags.iter().map(|(k, v)| (text(k), text(v))).collect())
                .unwrap_or_default(),
            source: atoms["source"].as_str().map(str::to_owned),
            verb: text(&atoms["verb"]),
            params: atoms["params"]
                .as_vec()
                .map(|params| params.iter().map(text).collect())
                .unwrap_or_default(),
        }
    }
}

fn load(name: &str) -> Vec<Yaml> {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let docs = YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    let tests = docs[0]["tests"].as_vec().expect("a list of tests").clone();
    assert!(tests.len() > 10, "{path}: only {} tests", tests.len());
    tests
}

#[test]
fn every_split_vector_parses_into_its_atoms() {
    let mut failures = Vec::new();
    for test in load("msg-split.yaml") {
        let input = test["input"].as_str().expect("an input");
        let expected = Atoms::from_yaml(&test["atoms"]);
        match parse(input) {
            Ok(message) if Atoms::of(&message) == expected => {}
            Ok(message) => failures.push(format!(
                "{input:?}\n    got      {:?}\n    expected {expected:?}",
                Atoms::of(&message)
            )),
            Err(e) => failures.push(format!("{input:?}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_join_vector_is_written_as_one_of_its_lines() {
    let mut failures = Vec::new();
    for test in load("msg-join.yaml") {
        let atoms = Atoms::from_yaml(&test["atoms"]);
        let matches: Vec<&str> = test["matches"]
            .as_vec()
            .expect("matches")
            .iter()
            .map(|m| m.as_str().expect("a line"))
            .collect();
        let tags: Vec<(&str, &str)> = atoms
            .tags
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let params: Vec<&str> = atoms.params.iter().map(String::as_str).collect();
        let mut out = BytesMut::new();
        if let Err(e) = write(
            &mut out,
            &tags,
            atoms.source.as_deref(),
            &atoms.verb,
            &params,
        ) {
            failures.push(format!("{atoms:?}: {e}"));
            continue;
        }
        let line = std::str::from_utf8(&out).expect("UTF-8");
        let Some(line) = line.strip_suffix("\r\n") else {
            failures.push(format!("{line:?} does not end in CRLF"));
            continue;
        };
        if !matches.contains(&line) {
            failures.push(format!("{line:?} is none of {matches:?}"));
        }
        for candidate in matches {
            match parse(candidate) {
                Ok(message) if Atoms::of(&message) == atoms => {}
                other => failures.push(format!("{candidate:?} parses as {other:?}")),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
