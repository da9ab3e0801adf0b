#![no_main]
//! What an operator types as the venue's database connection ("host=… dbname=… user=…")
//! and gives as its certificate authority: refused with an error or read into a login with
//! one TCP host, a plain database name and a certificate, never a panic.

use libfuzzer_sys::fuzz_target;
use tresen_venue::store::server::link::parse_login;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (conn, ca) = text.split_once('\n').unwrap_or((&text, ""));
    if let Ok(login) = parse_login(conn, "password", ca) {
        assert!(!login.host.is_empty());
        assert!(login
            .dbname
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_'));
        assert!(!login.ca_pem.is_empty());
    }
});
