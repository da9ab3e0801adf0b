//! Every text the window shows comes from ui/i18n.js, in German and in English: both
//! languages have the same keys, and every key the HTML and the scripts use exists.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::PathBuf;

fn ui(file: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../ui")
        .join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The keys of one language block (`  de: {` … `  },`), one `key: "text"` entry per line
/// or a key followed by its text on the next line.
fn keys(source: &str, lang: &str) -> BTreeSet<String> {
    let start = source
        .find(&format!("\n  {lang}: {{"))
        .unwrap_or_else(|| panic!("no {lang} block"));
    let block = &source[start..];
    let end = block.find("\n  },").expect("end of block");
    block[..end]
        .lines()
        .skip(1)
        .filter(|l| l.starts_with("    ") && !l.starts_with("     "))
        .filter_map(|l| {
            let l = l.trim();
            let key = if let Some(rest) = l.strip_prefix('"') {
                rest.split_once("\":")?.0
            } else {
                l.split_once(':')?.0
            };
            Some(key.to_string())
        })
        .collect()
}

/// Text between `open` and the next `close`, everywhere in `source`.
fn between(source: &str, open: &str, close: char) -> Vec<String> {
    source
        .split(open)
        .skip(1)
        .filter_map(|s| s.split_once(close).map(|(k, _)| k.to_string()))
        .collect()
}

#[test]
fn both_languages_have_every_text_the_window_uses() {
    let i18n = ui("i18n.js");
    let de = keys(&i18n, "de");
    let en = keys(&i18n, "en");
    assert!(de.len() > 200, "{} German texts found", de.len());
    let only_de: Vec<_> = de.difference(&en).collect();
    let only_en: Vec<_> = en.difference(&de).collect();
    assert!(only_de.is_empty(), "missing in English: {only_de:?}");
    assert!(only_en.is_empty(), "missing in German: {only_en:?}");
    let mut used = BTreeSet::new();
    let html = ui("index.html");
    used.extend(between(&html, "data-i18n=\"", '"'));
    used.extend(between(&html, "data-i18n-placeholder=\"", '"'));
    for js in [
        "main.js",
        "counter.js",
        "wizard.js",
        "operator.js",
        "api.js",
    ] {
        let source = ui(js);
        used.extend(between(&source, " t(\"", '"'));
        used.extend(between(&source, "(t(\"", '"'));
        used.extend(between(&source, "[t(\"", '"'));
    }
    assert!(used.len() > 100, "{} used texts found", used.len());
    let missing: Vec<_> = used.difference(&de).collect();
    assert!(missing.is_empty(), "used but not translated: {missing:?}");
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The string literals in `source` that look like codes (`operator-locked`).
fn code_literals(source: &str) -> Vec<String> {
    let mut literals = Vec::new();
    let mut chars = source.chars();
    while let Some(c) = chars.next() {
        match c {
            // A char literal such as '"' is no string's start.
            '\'' => {
                if chars.next() == Some('\\') {
                    chars.next();
                }
                chars.next();
            }
            '"' => {
                let mut lit = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => lit.extend(chars.next()),
                        '"' => break,
                        c => lit.push(c),
                    }
                }
                literals.push(lit);
            }
            _ => {}
        }
    }
    literals
        .into_iter()
        .filter(|s| {
            !s.is_empty()
                && s.starts_with(|c: char| c.is_ascii_lowercase())
                && s.chars().all(|c| c.is_ascii_lowercase() || c == '-')
        })
        .collect()
}

/// The first string literal after each `marker` (within `within` characters; 0: right
/// after it, the marker ending in the opening quote).
fn literals_after(source: &str, marker: &str, within: usize) -> Vec<String> {
    source
        .split(marker)
        .skip(1)
        .filter_map(|after| {
            if within == 0 || marker.ends_with('"') {
                return after.split_once('"').map(|(lit, _)| lit.to_string());
            }
            let window: String = after.chars().take(within).collect();
            let (_, rest) = window.split_once('"')?;
            rest.split_once('"').map(|(lit, _)| lit.to_string())
        })
        .filter(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
        .collect()
}

/// The body of every `fn code(&self)`: the match that names each kind of error.
fn code_fn_bodies(source: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = source;
    while let Some(i) = rest.find("fn code(&self)") {
        let body = &rest[i..];
        let Some(open) = body.find('{') else { break };
        let mut depth = 0;
        let mut end = open;
        for (j, c) in body[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + j;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.push(&body[open..end]);
        rest = &body[end..];
    }
    out
}

/// Every error, refusal, warning and outcome code the core and the shell can hand the
/// window: the arms of each `fn code`, the shell's own `UiError::new` codes, the outcomes
/// of scans and the dashboard's warnings. Each has words in German and in English.
#[test]
fn every_code_the_window_can_get_has_german_and_english_words() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in ["crates", "src", "src-tauri/src"] {
        rust_files(&root.join(dir), &mut files);
    }
    let mut codes = BTreeSet::new();
    let mut families = BTreeSet::new();
    for f in &files {
        let source = std::fs::read_to_string(f).unwrap();
        // The unit tests inside a file name codes only to check them.
        let source = source.split("#[cfg(test)]").next().unwrap_or_default();
        for body in code_fn_bodies(source) {
            codes.extend(code_literals(body));
        }
        for call in ["UiError::new(", "Outcome::refused("] {
            for after in source.split(call).skip(1) {
                if let Some(lit) = after.trim_start().strip_prefix('"') {
                    codes.extend(lit.split_once('"').map(|(code, _)| code.to_string()));
                }
            }
        }
        if f.ends_with("src/outcome.rs") {
            codes.extend(code_literals(source));
        }
        // Families the window words under a prefix.
        if f.to_string_lossy().contains("crates/devices/") {
            for lit in literals_after(source, "code: \"", 0) {
                families.insert(format!("device.{lit}"));
            }
            for lit in literals_after(source, "Some((\n", 40) {
                families.insert(format!("device.{lit}"));
            }
        }
        for marker in ["AuditNote::change(", "event: \"", "store_pin("] {
            for lit in literals_after(source, marker, 60) {
                families.insert(format!("audit.{lit}"));
                families.insert(format!("auditDetail.{lit}"));
            }
        }
        if let Some(body) = source.split("fn contact_params").nth(1) {
            let body = body.split("\n}\n").next().unwrap_or_default();
            for lit in code_literals(body)
                .into_iter()
                .filter(|l| l != "problem" && l != "field" && l != "max")
            {
                families.insert(format!("contact.{lit}"));
            }
        }
    }
    for code in tresen::dashboard::WARNING_CODES {
        families.insert(format!("short.{code}"));
    }
    for field in ["name", "street", "postcode", "city", "phone", "email"] {
        families.insert(format!("field.{field}"));
    }
    for js in ["main.js", "counter.js", "wizard.js", "operator.js"] {
        // `choose($("input-id"), "purpose")`: the purpose names the dialog's filter.
        for call in ui(js).split("choose($(").skip(1) {
            let call: String = call.chars().take(80).collect();
            if let Some((_, rest)) = call.split_once("), \"") {
                if let Some((purpose, _)) = rest.split_once('"') {
                    families.insert(format!("filter.{purpose}"));
                }
            }
        }
    }
    // The audit events without details of their own.
    families.remove("auditDetail.pin-set");
    families.remove("auditDetail.pin-changed");
    for must in [
        "device.not-connected",
        "device.usb-access",
        "device.serial-permission",
        "audit.approved",
        "audit.pin-set",
        "auditDetail.refused",
        "contact.phone",
        "filter.key",
    ] {
        assert!(
            families.contains(must),
            "{must} was not found: {families:?}"
        );
    }
    codes.extend(tresen::dashboard::WARNING_CODES.map(String::from));
    for must in [
        "checked-in",
        "no-area",
        "operator-locked",
        "pin-required",
        "clock-suspect",
        "typed-not-scanned",
        "wrong-pin",
    ] {
        assert!(codes.contains(must), "{must} was not found: {codes:?}");
    }
    assert!(codes.len() > 60, "{} codes found", codes.len());
    let i18n = ui("i18n.js");
    for lang in ["de", "en"] {
        let words = keys(&i18n, lang);
        let missing: Vec<_> = codes
            .iter()
            .filter(|c| !words.contains(&format!("err.{c}")) && !words.contains(*c))
            .collect();
        assert!(missing.is_empty(), "no {lang} words for {missing:?}");
        let missing: Vec<_> = families.iter().filter(|k| !words.contains(*k)).collect();
        assert!(missing.is_empty(), "no {lang} words for {missing:?}");
    }
}
