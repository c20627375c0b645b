//! Tidy: the repository's own rules, checked by plain `cargo test` (the habit
//! of rust-analyzer's `tidy.rs`). Each test reads files, runs nothing but
//! `cargo metadata`, and on failure lists every offending file at once.
//!
//! - Every path ARCHITECTURE.md names exists ([`architecture_names_only_paths_that_exist`]).
//! - Every Rust file opens with `//!` docs ([`every_rust_file_opens_with_docs`]).
//! - The sans-I/O crates exist and depend on no I/O, CLI or config crate
//!   ([`sans_io_crates_have_no_io_dependencies`]).
//! - No Rust file, test code included, passes [`MAX_LINES`] lines
//!   ([`source_files_stay_short`]).
//! - No `.rs`, `.md` or `.toml` file has trailing whitespace
//!   ([`no_trailing_whitespace`]).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The longest a Rust file may grow, test code included: a long test file
/// is as hard to find one's way in as a long module.
const MAX_LINES: usize = 700;

/// Packages that must do no I/O, and must not be able to by accident: a
/// dependency on any of [`IO_CRATES`] is a build error waiting to happen.
const SANS_IO: &[&str] = &["chat-proto", "chat-hub", "chat-irc"];

/// Sockets, reactors, Redis, SQLite, flags, configuration files, TLS.
const IO_CRATES: &[&str] = &[
    "mio", "chat-net", "redis", "rusqlite", "clap", "toml", "serde", "socket2", "rustls",
];

/// Folders whose Rust files belong to the workspace (the fuzz workspace
/// keeps its sources in `fuzz_targets`).
const RUST_ROOTS: &[&str] = &["crates", "tests", "xtask", "fuzz/fuzz_targets"];

/// Folders never read: build output, version control, generated corpora.
const SKIPPED_DIRS: &[&str] = &["target", ".git", "corpus", "artifacts", "node_modules"];

fn repo_root() -> PathBuf {
    // This package is the workspace's `tests/` folder.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from(".."), Path::to_path_buf)
}

/// Every file under `dir` (relative to the repo root) whose name ends in
/// one of `extensions`, skipping [`SKIPPED_DIRS`], in a stable order.
fn files(dir: &str, extensions: &[&str]) -> Vec<PathBuf> {
    let root = repo_root();
    let mut found = Vec::new();
    let mut pending = vec![root.join(dir)];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                if !SKIPPED_DIRS.contains(&name.as_str()) {
                    pending.push(path);
                }
            } else if extensions.iter().any(|ext| name.ends_with(ext)) {
                found.push(path.strip_prefix(&root).unwrap_or(&path).to_path_buf());
            }
        }
    }
    found.sort();
    found
}

fn rust_files() -> Vec<PathBuf> {
    RUST_ROOTS
        .iter()
        .flat_map(|dir| files(dir, &[".rs"]))
        .collect()
}

fn read(path: &Path) -> String {
    fs::read_to_string(repo_root().join(path))
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Fails with `what`, then one offender per line.
fn check(what: &str, offenders: &[String]) {
    assert!(
        offenders.is_empty(),
        "{what} ({} found):\n  {}\n",
        offenders.len(),
        offenders.join("\n  ")
    );
}

/// The inline code spans of a Markdown text, outside fenced blocks, each
/// with the line it starts on. A span may run over a line break.
fn code_spans(markdown: &str) -> Vec<(usize, String)> {
    let mut spans = Vec::new();
    let mut open: Option<(usize, String)> = None;
    let mut fenced = false;
    for (number, line) in markdown.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        if let Some((_, span)) = open.as_mut() {
            span.push(' ');
        }
        for c in line.chars() {
            match (c, open.take()) {
                ('`', Some(span)) => spans.push(span),
                ('`', None) => open = Some((number + 1, String::new())),
                (c, Some((at, mut span))) => {
                    span.push(c);
                    open = Some((at, span));
                }
                (_, None) => {}
            }
        }
    }
    spans
}

/// Whether a code span names a file or folder: no spaces, not a command
/// (`/who`), not a URL or a pattern, and a `/` in it or a file name ending.
fn is_path(span: &str) -> bool {
    let file = [".rs", ".md", ".toml"]
        .iter()
        .any(|ext| span.ends_with(ext));
    !span.is_empty()
        && !span.contains(char::is_whitespace)
        && !span.starts_with('/')
        && !span.contains("://")
        && !span.contains(['*', '…', '<', '>', '{', '}'])
        && (span.contains('/') || file)
}

/// The rule: ARCHITECTURE.md names files and folders by their full path
/// from the repository root (`crates/chat-proto/src/codec.rs`, `fuzz/`), and
/// each one exists. A name relative to a section's crate (`codec.rs`,
/// `hub/`) is not resolved: it fails, so the map can be checked without
/// guessing what it meant.
#[test]
fn architecture_names_only_paths_that_exist() {
    let root = repo_root();
    let text = read(Path::new("ARCHITECTURE.md"));
    let mut offenders: Vec<String> = code_spans(&text)
        .into_iter()
        .filter(|(_, span)| is_path(span))
        .filter(|(_, span)| !root.join(span).exists())
        .map(|(line, span)| format!("ARCHITECTURE.md:{line}: `{span}`"))
        .collect();
    offenders.dedup();
    check(
        "ARCHITECTURE.md names paths that do not exist from the repository root \
         (write them in full, e.g. `crates/chat-proto/src/codec.rs`)",
        &offenders,
    );
}

#[test]
fn every_rust_file_opens_with_docs() {
    let offenders: Vec<String> = rust_files()
        .into_iter()
        .filter(|path| !read(path).starts_with("//!"))
        .map(|path| path.display().to_string())
        .collect();
    check(
        "Rust files that do not open with `//!` docs (say what the module is for)",
        &offenders,
    );
}

#[test]
fn source_files_stay_short() {
    let offenders: Vec<String> = rust_files()
        .into_iter()
        .filter_map(|path| {
            let lines = read(&path).lines().count();
            (lines > MAX_LINES).then(|| format!("{} ({lines} lines)", path.display()))
        })
        .collect();
    check(
        &format!("source files over {MAX_LINES} lines (split them by idea)"),
        &offenders,
    );
}

#[test]
fn no_trailing_whitespace() {
    let mut offenders = Vec::new();
    for path in files(".", &[".rs", ".md", ".toml"]) {
        let text = read(&path);
        let lines: Vec<String> = text
            .lines()
            .enumerate()
            .filter(|(_, line)| line.ends_with([' ', '\t']))
            .map(|(number, _)| (number + 1).to_string())
            .collect();
        if !lines.is_empty() {
            offenders.push(format!("{} (lines {})", path.display(), lines.join(", ")));
        }
    }
    check("files with trailing whitespace", &offenders);
}

/// `cargo metadata` of the workspace, with the resolved dependency graph.
fn metadata() -> Value {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = repo_root().join("Cargo.toml");
    let output = Command::new(&cargo)
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(&manifest)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", cargo.to_string_lossy()));
    assert!(
        output.status.success(),
        "cargo metadata failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("cargo metadata printed no JSON: {e}"))
}

/// The normal (not dev, not build) dependencies of each package id.
fn normal_dependencies(metadata: &Value) -> HashMap<&str, Vec<&str>> {
    let mut graph = HashMap::new();
    let nodes = metadata["resolve"]["nodes"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    for node in nodes {
        let Some(id) = node["id"].as_str() else {
            continue;
        };
        let deps = node["deps"].as_array().map_or(&[][..], Vec::as_slice);
        let normal = deps
            .iter()
            .filter(|dep| {
                dep["dep_kinds"]
                    .as_array()
                    .is_some_and(|kinds| kinds.iter().any(|kind| kind["kind"].is_null()))
            })
            .filter_map(|dep| dep["pkg"].as_str())
            .collect();
        graph.insert(id, normal);
    }
    graph
}

/// The graph is the workspace's, with features unified across its members,
/// so it can only err by reporting a dependency that building the package
/// alone would not pull in: it never misses one.
#[test]
fn sans_io_crates_have_no_io_dependencies() {
    let metadata = metadata();
    let packages = metadata["packages"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    let names: HashMap<&str, &str> = packages
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, p["name"].as_str()?)))
        .collect();
    let graph = normal_dependencies(&metadata);
    let mut offenders = Vec::new();
    for &package in SANS_IO {
        let Some(start) = names.iter().find(|(_, name)| **name == package) else {
            // A renamed or merged crate would otherwise leave its rule
            // unchecked without anyone noticing.
            offenders.push(format!(
                "{package}: no such package in the workspace (update SANS_IO)"
            ));
            continue;
        };
        // Breadth first, so each forbidden crate is reported by its
        // shortest chain.
        let mut via: BTreeMap<&str, Option<&str>> = BTreeMap::new();
        via.insert(start.0, None);
        let mut queue = VecDeque::from([*start.0]);
        let mut found = BTreeSet::new();
        while let Some(id) = queue.pop_front() {
            for &dep in graph.get(id).map_or(&[][..], Vec::as_slice) {
                if via.contains_key(dep) {
                    continue;
                }
                via.insert(dep, Some(id));
                queue.push_back(dep);
                let name = names.get(dep).copied().unwrap_or(dep);
                if IO_CRATES.contains(&name) && found.insert(name) {
                    let mut chain = vec![name];
                    let mut at = id;
                    while let Some(Some(parent)) = via.get(at) {
                        chain.push(names.get(at).copied().unwrap_or(at));
                        at = parent;
                    }
                    chain.push(package);
                    chain.reverse();
                    offenders.push(chain.join(" -> "));
                }
            }
        }
    }
    check(
        &format!("sans-I/O crates that are missing or depend on one of {IO_CRATES:?}"),
        &offenders,
    );
}

/// The hub decides in values; wire text is made at the edge, once per
/// wire shape (`Delivery`, chat-proto's encoders and `Refusal`). So no
/// string in the hub's machines (outside their tests) holds what only a
/// wire line has: the `-!- ` of a notice, the `(history) ` of a history
/// line, an `error: ` prefix, or a line ending.
#[test]
fn the_hub_writes_no_wire_text() {
    const WIRE_MARKS: [&str; 4] = ["-!- ", "(history) ", "\"error: ", "\\n\""];
    let mut offenders = Vec::new();
    for path in files("crates/chat-hub/src", &["rs"]) {
        let text = read(&path);
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for (number, line) in code.lines().enumerate() {
            let line_code = line.split("//").next().unwrap_or_default();
            if let Some(mark) = WIRE_MARKS.iter().find(|mark| line_code.contains(*mark)) {
                offenders.push(format!("{}:{}: {mark}", path.display(), number + 1));
            }
        }
    }
    check("wire text in chat-hub (encode it at the edge)", &offenders);
}
