//! The shape a newcomer can read, checked on the sources: no module of the
//! api or the renderer imports another that imports it back, the state
//! structs import no route, form or page module, `db/` does not import the
//! HTTP layer, no route or renderer file passes 450 lines, and every
//! migration bounds its lock waits and statements.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_LINES: usize = 450;

/// Every `.rs` file under `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(sources(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files
}

/// `routes::pages::crud` for `src/routes/pages/crud.rs`; `routes::pages` for
/// its `mod.rs`; the crate root is "".
fn module_of(root: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(root).unwrap().with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts.join("::")
}

/// The code outside `#[cfg(test)] mod tests` (tests may import anything).
fn without_tests(source: &str) -> &str {
    source
        .find("#[cfg(test)]\nmod tests")
        .map_or(source, |at| &source[..at])
}

/// Paths after `crate::` in `source`, including those inside
/// `use crate::{a::b, c}` groups, as module paths (`a::b`, `c`).
fn crate_paths(source: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if rest.starts_with('{') {
            let end = rest.find('}').unwrap_or(rest.len());
            for item in rest[1..end].split(',') {
                paths.push(item.trim().split(['{', ' ']).next().unwrap().to_owned());
            }
        } else {
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(rest.len());
            paths.push(rest[..end].trim_end_matches("::").to_owned());
        }
    }
    paths
}

/// Each module's imports of other modules of the crate.
fn import_graph(root: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let files: BTreeMap<String, String> = sources(root)
        .into_iter()
        .map(|file| {
            let source = std::fs::read_to_string(&file).unwrap();
            (module_of(root, &file), source)
        })
        .collect();
    let modules: BTreeSet<&String> = files.keys().collect();
    let mut graph = BTreeMap::new();
    for (module, source) in &files {
        let mut imports = BTreeSet::new();
        for path in crate_paths(without_tests(source)) {
            // The longest prefix of the path that names a module.
            let parts: Vec<&str> = path.split("::").collect();
            let target = (1..=parts.len())
                .rev()
                .map(|n| parts[..n].join("::"))
                .find(|candidate| modules.contains(candidate));
            if let Some(target) = target {
                let is_self_or_ancestor =
                    *module == target || module.starts_with(&format!("{target}::"));
                if !is_self_or_ancestor {
                    imports.insert(target);
                }
            }
        }
        graph.insert(module.clone(), imports);
    }
    graph
}

/// A chain `a -> b -> ... -> a`, if any module reaches itself.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        graph: &BTreeMap<String, BTreeSet<String>>,
        module: &str,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|m| m == module) {
            let mut cycle = path[at..].to_vec();
            cycle.push(module.to_owned());
            return Some(cycle);
        }
        if done.contains(module) {
            return None;
        }
        path.push(module.to_owned());
        for next in graph.get(module).into_iter().flatten() {
            if let Some(cycle) = visit(graph, next, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(module.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|module| visit(graph, module, &mut Vec::new(), &mut done))
}

fn crate_root(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(name)
        .join("src")
}

#[test]
fn the_graph_reader_sees_grouped_imports_and_finds_cycles() {
    assert_eq!(
        crate_paths("use crate::{db::pages, http::etag::IfMatch};\nlet x = crate::kv::Kv::new();"),
        vec!["db::pages", "http::etag::IfMatch", "kv::Kv::new"]
    );
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec![]),
    ]
    .into_iter()
    .map(|(m, to)| (m.to_owned(), to.into_iter().map(str::to_owned).collect()))
    .collect();
    assert_eq!(find_cycle(&graph).unwrap().len(), 4);
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    for name in ["api", "renderer"] {
        let graph = import_graph(&crate_root(name));
        assert!(graph.len() > 20, "{name}: read {} modules", graph.len());
        if let Some(cycle) = find_cycle(&graph) {
            panic!("{name}: import cycle {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn state_structs_import_infrastructure_only() {
    let forbidden = |module: &str| {
        module.starts_with("routes") || ["forms", "pages", "booking", "app"].contains(&module)
    };
    for name in ["api", "renderer"] {
        let graph = import_graph(&crate_root(name));
        let state = graph.get("state").expect("a state module");
        let bad: Vec<&String> = state.iter().filter(|m| forbidden(m)).collect();
        assert!(bad.is_empty(), "{name}::state imports {bad:?}");
        // What the state imports reaches no route or form module either.
        for module in state {
            let reached = graph.get(module).into_iter().flatten();
            let bad: Vec<&String> = reached.filter(|m| forbidden(m)).collect();
            assert!(
                bad.is_empty(),
                "{name}::{module} (held by state) imports {bad:?}"
            );
        }
    }
}

#[test]
fn the_database_layer_does_not_import_the_http_layer() {
    let graph = import_graph(&crate_root("api"));
    for (module, imports) in graph.iter().filter(|(m, _)| m.starts_with("db")) {
        let bad: Vec<&String> = imports
            .iter()
            .filter(|m| m.starts_with("http") || m.starts_with("routes"))
            .collect();
        assert!(bad.is_empty(), "{module} imports {bad:?}");
    }
}

#[test]
fn no_route_or_renderer_file_passes_450_lines() {
    let mut files = sources(&crate_root("api").join("routes"));
    files.extend(sources(&crate_root("renderer")));
    let long: Vec<String> = files
        .iter()
        .filter_map(|file| {
            let source = std::fs::read_to_string(file).unwrap();
            let lines = without_tests(&source).lines().count();
            (lines > MAX_LINES).then(|| format!("{} ({lines})", file.display()))
        })
        .collect();
    assert!(long.is_empty(), "over {MAX_LINES} lines: {long:?}");
}

/// A migration waiting behind a long transaction must give up (and be
/// retried) rather than queue every request behind its lock: README
/// "Migrations: expand, then contract".
#[test]
fn every_migration_sets_lock_and_statement_timeouts() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let mut checked = 0;
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&root).unwrap() {
        let dir = entry.unwrap().path();
        // One statement outside a transaction (CREATE INDEX CONCURRENTLY)
        // cannot carry SETs: `api migrate` sets the timeouts on its
        // connection for those (`setup::set_migration_timeouts`).
        let outside_a_transaction = std::fs::read_to_string(dir.join("metadata.toml"))
            .is_ok_and(|meta| meta.replace(' ', "").contains("run_in_transaction=false"));
        if outside_a_transaction {
            continue;
        }
        for file in ["up.sql", "down.sql"] {
            let Ok(sql) = std::fs::read_to_string(dir.join(file)) else {
                continue;
            };
            checked += 1;
            let sql = sql.to_ascii_lowercase();
            if !(sql.contains("set lock_timeout") && sql.contains("set statement_timeout")) {
                missing.push(dir.join(file).display().to_string());
            }
        }
    }
    assert!(checked >= 30, "read only {checked} migration files");
    assert!(missing.is_empty(), "without both timeouts: {missing:?}");
}
