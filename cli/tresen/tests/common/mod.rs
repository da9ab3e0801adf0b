//! What the command-line tests share: running the tools, and a venue set up with them.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Once;

pub const PASS: &str = "correct horse battery staple tresen";

pub fn run(bin: &str, dir: &Path, args: &[&str]) -> Output {
    Command::new(bin)
        .current_dir(dir)
        .args(args)
        .env_remove("TRESEN_DATA_DIR")
        .output()
        .unwrap()
}

/// Runs `tresen` with `input` on its standard input.
pub fn tresen_with_input(dir: &Path, args: &[&str], input: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_tresen"))
        .current_dir(dir)
        .args(["--data-dir", "data"])
        .args(args)
        .env_remove("TRESEN_DATA_DIR")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

pub fn tresen(dir: &Path, args: &[&str]) -> Output {
    let mut all = vec!["--data-dir", "data"];
    all.extend_from_slice(args);
    run(env!("CARGO_BIN_EXE_tresen"), dir, &all)
}

/// Another tool of the workspace, beside `tresen` in the target folder; built once if a
/// plain `cargo test -p tresen-cli` has not built it yet. `scripts/test.sh` builds the whole
/// workspace first and says so (TRESEN_WORKSPACE_BUILT): building these two alone would
/// compile their dependencies again, with another set of features (two minutes of CI).
pub fn sibling(name: &str) -> String {
    static BUILD: Once = Once::new();
    let path: PathBuf = Path::new(env!("CARGO_BIN_EXE_tresen")).with_file_name(name);
    BUILD.call_once(|| {
        if std::env::var_os("TRESEN_WORKSPACE_BUILT").is_some() {
            return;
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "-p", "health-office", "-p", "scanner-sim"]);
        if !cfg!(debug_assertions) {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("cargo runs");
        assert!(status.success(), "health-office and scanner-sim build");
    });
    path.display().to_string()
}

pub fn office(dir: &Path, args: &[&str]) -> Output {
    run(&sibling("health-office"), dir, args)
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The root fingerprint the authority publishes (`health-office authority show`).
pub fn root_fp(dir: &Path) -> String {
    let o = office(dir, &["authority", "show", "--dir", "auth"]);
    text(&o)
        .lines()
        .find_map(|l| l.strip_prefix("root fingerprint: "))
        .map(|f| f.trim().to_string())
        .expect("the authority shows its root fingerprint")
}

pub fn setup(dir: &Path) {
    setup_with(dir, &[]);
}

/// Sets up an authority and a venue with "Filiale 1/Terrasse" (tables 1-4), with extra
/// arguments for `tresen venue init`.
pub fn setup_with(dir: &Path, extra: &[&str]) {
    std::fs::write(dir.join("pass"), format!("{PASS}\n")).unwrap();
    let o = office(
        dir,
        &[
            "authority",
            "init",
            "--dir",
            "auth",
            "--name",
            "Gesundheitsamt Mitte",
            "--passphrase-file",
            "pass",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = tresen(
        dir,
        &[
            "venue",
            "init",
            "--name",
            "Café Mönch",
            "--address",
            "Hauptstraße 1, Berlin",
            "--trust",
            "auth/trust.json",
            "--expect-root",
            &root_fp(dir),
            "--key-file",
            "venue.age",
            "--secret-store",
            "file",
            "--passphrase-file",
            "pass",
        ]
        .into_iter()
        .chain(extra.iter().copied())
        .collect::<Vec<_>>(),
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("Venue key fingerprint"));
    let o = tresen(
        dir,
        &[
            "area",
            "add",
            "Terrasse",
            "--location",
            "Filiale 1",
            "--tables",
            "1-4",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
}

pub fn guest_code(dir: &Path, name: &str) -> String {
    let contact = serde_json::json!({
        "name": name, "street": "Weg 1", "postcode": "10115", "city": "Berlin",
        "phone": "030 1234567",
    });
    let o = tresen_with_input(dir, &["guest", "code"], format!("{contact}\n").as_bytes());
    assert!(o.status.success(), "{}", text(&o));
    String::from_utf8(o.stdout).unwrap().trim().to_string()
}
