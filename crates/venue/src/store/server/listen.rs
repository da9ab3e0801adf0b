//! Live counts across counters: a thread with its own connection that listens for the
//! server's notifications (PostgreSQL LISTEN/NOTIFY, sent by a trigger on every change
//! to the check-ins or areas) and tells the front end at once, reconnecting when the
//! server comes back.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;

use tresen_protocol::join_file::ServerLogin;

use super::link;

/// What changed on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Checkins,
    Areas,
    /// The listener (re)connected: anything may have changed meanwhile.
    Reconnected,
    /// The connection was lost; the listener keeps trying.
    Lost,
}

/// Stops the listener when dropped.
pub struct Listener {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub fn listen(login: ServerLogin, on_change: impl Fn(Change) + Send + 'static) -> Listener {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let thread = std::thread::Builder::new()
        .name("tresen-listen".into())
        .spawn(move || {
            // Soon after a server restart, then less often: a refused login (a revoked
            // counter) must not knock on the server twice a second for ever.
            let mut wait = Duration::from_millis(500);
            while !flag.load(Ordering::Relaxed) {
                let mut client = match link::connect(&login).and_then(|mut c| {
                    c.batch_execute("LISTEN tresen_checkins; LISTEN tresen_areas")?;
                    Ok(c)
                }) {
                    Ok(c) => c,
                    Err(_) => {
                        let until = std::time::Instant::now() + wait;
                        while std::time::Instant::now() < until && !flag.load(Ordering::Relaxed) {
                            std::thread::sleep(Duration::from_millis(100));
                        }
                        wait = (wait * 2).min(Duration::from_secs(10));
                        continue;
                    }
                };
                wait = Duration::from_millis(500);
                on_change(Change::Reconnected);
                while !flag.load(Ordering::Relaxed) {
                    let mut n = client.notifications();
                    let mut it = n.timeout_iter(Duration::from_millis(250));
                    match it.next() {
                        Ok(Some(note)) => on_change(match note.channel() {
                            "tresen_areas" => Change::Areas,
                            _ => Change::Checkins,
                        }),
                        Ok(None) => {
                            drop(it);
                            drop(n);
                            if client.is_closed() {
                                on_change(Change::Lost);
                                break;
                            }
                        }
                        Err(_) => {
                            on_change(Change::Lost);
                            break;
                        }
                    }
                }
            }
        })
        .ok();
    Listener { stop, thread }
}
