//! Every text the window shows comes from ui/i18n.js, in German and in English: both
//! languages have the same keys, and every key the HTML and the scripts use exists.

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
