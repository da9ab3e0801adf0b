//! A serial scanner simulator for tests and demos: a real pseudo-terminal whose other end
//! behaves like a scanner on a serial line — bytes paced at the baud rate, a terminator,
//! an optional AIM identifier, prefix and suffix, split writes and noise bytes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serialport::{SerialPort, TTYPort};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimConfig {
    /// Bits per second; each byte takes 10 bit times (start, 8 data, stop).
    pub baud: u32,
    /// Bytes sent after each code (`b"\r"`, `b"\n"`, `b"\r\n"`, or empty for pause framing).
    pub terminator: Vec<u8>,
    /// An AIM identifier sent before the code, e.g. `]Q1`.
    pub aim: Option<String>,
    pub prefix: String,
    pub suffix: String,
    /// Write in chunks of this many bytes (the reader sees split reads); 0: whole scans.
    pub chunk: usize,
    /// Bytes sent before each scan (line noise).
    pub noise: Vec<u8>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            baud: 9600,
            terminator: b"\r".to_vec(),
            aim: None,
            prefix: String::new(),
            suffix: String::new(),
            chunk: 0,
            noise: Vec::new(),
        }
    }
}

/// When the bytes of one scan went on the wire.
#[derive(Debug, Clone, Copy)]
pub struct SendTiming {
    pub first_byte: Instant,
    pub last_byte: Instant,
}

pub struct SerialSim {
    master: TTYPort,
    // Held open so the terminal stays alive until the reader opens it.
    _slave: TTYPort,
    slave_path: PathBuf,
    link: Option<PathBuf>,
}

impl SerialSim {
    /// Creates a pseudo-terminal; with `link`, a symbolic link to it (like the stable
    /// `/dev/serial/by-id/…` links) is made, replacing an older one.
    pub fn new(link: Option<&Path>) -> std::io::Result<Self> {
        let (master, slave) = TTYPort::pair().map_err(std::io::Error::from)?;
        let slave_path = slave
            .name()
            .map(PathBuf::from)
            .ok_or_else(|| std::io::Error::other("the pseudo-terminal has no name"))?;
        if let Some(l) = link {
            let _ = std::fs::remove_file(l);
            std::os::unix::fs::symlink(&slave_path, l)?;
        }
        Ok(Self {
            master,
            _slave: slave,
            slave_path,
            link: link.map(Path::to_path_buf),
        })
    }

    /// The path a reader opens: the link if there is one.
    pub fn path(&self) -> &Path {
        self.link.as_deref().unwrap_or(&self.slave_path)
    }

    /// Sends one scan the way a scanner would.
    pub fn send(&mut self, code: &str, cfg: &SimConfig) -> std::io::Result<SendTiming> {
        let mut bytes = cfg.noise.clone();
        if let Some(aim) = &cfg.aim {
            bytes.extend_from_slice(aim.as_bytes());
        }
        bytes.extend_from_slice(cfg.prefix.as_bytes());
        bytes.extend_from_slice(code.as_bytes());
        bytes.extend_from_slice(cfg.suffix.as_bytes());
        bytes.extend_from_slice(&cfg.terminator);
        self.send_raw(&bytes, cfg.baud, cfg.chunk)
    }

    /// Writes bytes paced at `baud`, in chunks of `chunk` bytes (0: one write per ms).
    pub fn send_raw(
        &mut self,
        bytes: &[u8],
        baud: u32,
        chunk: usize,
    ) -> std::io::Result<SendTiming> {
        let per_byte = Duration::from_secs_f64(10.0 / f64::from(baud.max(1)));
        let start = Instant::now();
        let mut sent = 0usize;
        let mut last = start;
        while sent < bytes.len() {
            // Bytes due by now, at least one; at most `chunk` per write if set.
            let due = ((start.elapsed().as_secs_f64() / per_byte.as_secs_f64()) as usize + 1)
                .clamp(sent + 1, bytes.len());
            let mut end = due;
            if chunk > 0 {
                end = end.min(sent + chunk);
            }
            self.master.write_all(&bytes[sent..end])?;
            last = Instant::now();
            sent = end;
            if sent < bytes.len() {
                let next_due = start + per_byte.mul_f64(sent as f64);
                let now = Instant::now();
                if next_due > now {
                    let wait = next_due - now;
                    if wait > Duration::from_micros(300) {
                        std::thread::sleep(wait - Duration::from_micros(200));
                    }
                    while Instant::now() < next_due {
                        std::hint::spin_loop();
                    }
                }
            }
        }
        self.master.flush()?;
        Ok(SendTiming {
            first_byte: start,
            last_byte: last,
        })
    }

    /// Unplugs the scanner: the terminal goes away and the link is removed.
    pub fn unplug(self) {
        if let Some(l) = &self.link {
            let _ = std::fs::remove_file(l);
        }
    }
}
