//! Table cards for 500 tables: wall time and bytes per page (goal: under 2 s and under
//! 30 KB per page). `cargo bench --bench print`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use tresen_documents::documents::{self, TableInfo, TableLayout};
use tresen_protocol::venue_code::VenueCode;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let tables: Vec<TableInfo> = (1..=500u16)
        .map(|t| TableInfo {
            area: "Terrasse am Fluß".into(),
            table: t,
            code: VenueCode {
                venue_tag: [7; 8],
                area_id: 3,
                table: t,
                generation: 1,
            }
            .to_text(),
        })
        .collect();
    for (name, layout) in [
        ("A6 tents, 4 per page", TableLayout::Tents),
        ("labels, 24 per page", TableLayout::Labels),
    ] {
        let t = Instant::now();
        let pdf = documents::table_cards("Café Mönch", &tables, layout).expect("pdf");
        let secs = t.elapsed().as_secs_f64();
        println!(
            "500 table cards ({name}): {secs:.3} s, {} pages, {} bytes, {:.1} KB per page",
            pdf.pages,
            pdf.bytes.len(),
            pdf.bytes.len() as f64 / pdf.pages as f64 / 1024.0
        );
    }
}
