//! The module graph of `keywheel-tss` — and of every other crate of the workspace — is a DAG: no module imports one that imports it back
//! (`docs/architecture.md` shows the graph this test prints with `--nocapture`). A module is a
//! source file; an import is a `crate::…` or `super::…` path in its non-test code, or a `use` of
//! one of its own children by relative path, resolved to the module file it names. Declaring a
//! child (`mod x;`) is not an import.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module path (`transport::handle`) of every source file under `src` (`lib.rs` is the root).
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("src is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "bin") {
                    stack.push(path);
                }
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).expect("under src").with_extension("");
            let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
            if parts.last().is_some_and(|l| l == "mod" || l == "lib" || l == "main") {
                parts.pop();
            }
            if parts.last().is_some_and(|l| l == "tests") {
                continue; // test modules may import anything
            }
            out.insert(parts.join("::"), path);
        }
    }
    out
}

/// The code of a file without its `#[cfg(test)]` module and comments.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident(s: &str) -> &str {
    let end = s.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(s.len());
    &s[..end]
}

/// The paths that follow each `prefix` (`crate::`, `super::`) in `code`, as segment lists;
/// a group `{a::b, c}` gives one path per member.
fn paths(code: &str, prefix: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find(prefix) {
        let before = rest[..at].chars().last();
        rest = &rest[at + prefix.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        out.extend(segments(rest));
    }
    out
}

/// The members of the group that starts `s` (after its `{`), split at top-level commas.
fn group_members(s: &str) -> Vec<&str> {
    let (mut depth, mut start, mut out) = (0usize, 0usize, Vec::new());
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                out.push(&s[start..i]);
                return out;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn segments(s: &str) -> Vec<Vec<String>> {
    if let Some(group) = s.strip_prefix('{') {
        return group_members(group)
            .into_iter()
            .map(str::trim)
            .filter(|m| !m.is_empty() && *m != "self")
            .flat_map(segments)
            .collect();
    }
    let mut path = Vec::new();
    let mut s = s;
    loop {
        let id = ident(s);
        if id.is_empty() {
            break;
        }
        path.push(id.to_string());
        match s[id.len()..].strip_prefix("::") {
            Some(next) if next.starts_with('{') => {
                return segments(next)
                    .into_iter()
                    .map(|tail| path.iter().cloned().chain(tail).collect())
                    .collect()
            }
            Some(next) => s = next,
            None => break,
        }
    }
    vec![path]
}

/// The longest module prefix of `path`.
fn resolve(path: &[String], known: &BTreeMap<String, PathBuf>) -> Option<String> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].join("::"))
        .find(|m| known.contains_key(m))
}

fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let known = modules(src);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, file) in &known {
        let text = code(&std::fs::read_to_string(file).expect("a source file"));
        let here: Vec<String> = module.split("::").filter(|s| !s.is_empty()).map(String::from).collect();
        let parent = &here[..here.len().saturating_sub(1)];
        let mut targets: Vec<Vec<String>> = paths(&text, "crate::");
        // A module's own children, used by relative path (`use status::AttemptStatus`).
        for p in paths(&text, "use ") {
            let child: Vec<String> = here.iter().cloned().chain(p).collect();
            if child.len() > here.len() + 1 && resolve(&child, &known).is_some_and(|m| m != *module) {
                targets.push(child);
            }
        }
        for p in paths(&text, "super::") {
            targets.push(parent.iter().cloned().chain(p).collect());
        }
        let out = edges.entry(module.clone()).or_default();
        for target in targets {
            if let Some(to) = resolve(&target, &known) {
                if to != *module && !to.is_empty() {
                    out.insert(to);
                }
            }
        }
    }
    edges
}

fn cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, edges, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    edges.keys().find_map(|n| visit(n, edges, &mut Vec::new(), &mut done))
}

#[test]
fn the_tss_module_graph_has_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let edges = graph(&src);
    for (from, to) in edges.iter().filter(|(from, _)| !from.is_empty()) {
        let to: Vec<&str> = to.iter().map(String::as_str).collect();
        println!("{from} -> {}", to.join(", "));
    }
    assert!(edges.contains_key("transport::router"), "the walk found the modules");
    assert!(
        edges["service"].contains("orchestrator") && edges["api"].contains("signing"),
        "the walk found the imports"
    );
    assert!(
        edges["transport"].contains("transport::handle"),
        "the walk found a facade's imports of its own children"
    );
    assert!(
        !edges
            .iter()
            .any(|(from, to)| !from.is_empty() && to.contains("service")),
        "nothing but the crate root's re-export imports service"
    );
    if let Some(cycle) = cycle(&edges) {
        panic!("modules import each other back: {}", cycle.join(" -> "));
    }
}

#[test]
fn no_crate_of_the_workspace_has_a_module_cycle() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for name in ["primitives", "mpc", "chain", "pallet", "rpc", "node", "tss", "cli"] {
        let edges = graph(&crates.join(name).join("src"));
        assert!(edges.len() > 3, "{name}: the walk found its modules");
        if let Some(cycle) = cycle(&edges) {
            panic!("{name}: modules import each other back: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn the_checker_sees_a_cycle() {
    let edges: BTreeMap<String, BTreeSet<String>> = [
        ("a".to_string(), ["b".to_string()].into()),
        ("b".to_string(), ["a".to_string()].into()),
    ]
    .into();
    assert_eq!(cycle(&edges), Some(vec!["a".into(), "b".into(), "a".into()]));
    let paths = paths("use crate::{x::{y, z}, w};\nlet _ = super::q::r;", "crate::");
    assert_eq!(paths, vec![vec!["x", "y"], vec!["x", "z"], vec!["w"]]);
}
