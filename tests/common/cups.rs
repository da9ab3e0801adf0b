//! A real CUPS scheduler in a temporary folder, with `ippeveprinter` (cups-ipp-utils) as
//! virtual IPP Everywhere printers that keep every job they receive, and the job's
//! attributes as the printer saw them.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct PrintService {
    dir: tempfile::TempDir,
    pub server: String,
    cupsd: Child,
    bus: Child,
    bus_address: String,
    printers: Vec<(String, Child, PathBuf)>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn need(program: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(program).exists()))
        .unwrap_or(false)
        || Path::new("/usr/sbin").join(program).exists();
    assert!(
        found,
        "{program} is not installed ({package}): run scripts/setup-system.sh"
    );
}

fn sbin(program: &str) -> String {
    if Path::new("/usr/sbin").join(program).exists() {
        format!("/usr/sbin/{program}")
    } else {
        program.to_string()
    }
}

/// The paper a venue's printers take: A4, A3, A6 and a 62 × 100 mm label, borderless.
const SIZES: [(&str, u32, u32); 4] = [
    ("iso_a4_210x297mm", 21000, 29700),
    ("iso_a3_297x420mm", 29700, 42000),
    ("iso_a6_105x148mm", 10500, 14800),
    ("om_label_62x100mm", 6200, 10000),
];

fn attributes() -> String {
    let col = |x: u32, y: u32| {
        format!(
            "{{ MEMBER collection media-size {{ MEMBER integer x-dimension {x} MEMBER integer y-dimension {y} }} \
             MEMBER integer media-bottom-margin 0 MEMBER integer media-left-margin 0 \
             MEMBER integer media-right-margin 0 MEMBER integer media-top-margin 0 }}"
        )
    };
    let names: Vec<&str> = SIZES.iter().map(|s| s.0).collect();
    let cols: Vec<String> = SIZES.iter().map(|s| col(s.1, s.2)).collect();
    let sizes: Vec<String> = SIZES
        .iter()
        .map(|s| {
            format!(
                "{{ MEMBER integer x-dimension {} MEMBER integer y-dimension {} }}",
                s.1, s.2
            )
        })
        .collect();
    format!(
        "ATTR keyword media-supported {names}\n\
         ATTR keyword media-ready iso_a4_210x297mm\n\
         ATTR keyword media-default iso_a4_210x297mm\n\
         ATTR mimeMediaType document-format-supported application/pdf,application/octet-stream\n\
         ATTR collection media-col-database {cols}\n\
         ATTR collection media-col-ready {a4}\n\
         ATTR collection media-col-default {a4}\n\
         ATTR collection media-size-supported {sizes}\n\
         ATTR integer media-bottom-margin-supported 0\n\
         ATTR integer media-left-margin-supported 0\n\
         ATTR integer media-right-margin-supported 0\n\
         ATTR integer media-top-margin-supported 0\n\
         ATTR rangeOfInteger copies-supported 1-99\n\
         ATTR integer copies-default 1\n\
         ATTR keyword sides-supported one-sided\n\
         ATTR keyword sides-default one-sided\n",
        names = names.join(","),
        cols = cols.join(","),
        a4 = cols[0],
        sizes = sizes.join(","),
    )
}

/// A job as the virtual printer kept it.
pub struct KeptJob {
    pub pdf: PathBuf,
    /// The job's IPP attributes as the printer received them (`IPP_COPIES`, `IPP_MEDIA_COL`).
    pub attributes: BTreeMap<String, String>,
}

impl KeptJob {
    /// The media size the job asked for, in hundredths of a millimetre.
    pub fn media_size(&self) -> (u32, u32) {
        let col = self
            .attributes
            .get("IPP_MEDIA_COL")
            .cloned()
            .unwrap_or_default();
        let num = |key: &str| -> u32 {
            let i = col.find(key).unwrap_or_else(|| panic!("no {key} in {col}")) + key.len() + 1;
            col[i..]
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect::<String>()
                .parse()
                .unwrap()
        };
        (num("x-dimension"), num("y-dimension"))
    }

    pub fn copies(&self) -> u32 {
        self.attributes
            .get("IPP_COPIES")
            .map(|c| c.parse().unwrap())
            .unwrap_or(1)
    }
}

impl PrintService {
    pub fn start() -> PrintService {
        need("cupsd", "cups-daemon");
        need("ippeveprinter", "cups-ipp-utils");
        need("lpadmin", "cups-client");
        assert!(
            Path::new("/usr/lib/cups/filter/pdftopdf").exists(),
            "CUPS's PDF filter is not installed (cups-filters): run scripts/setup-system.sh"
        );
        let dir = tempfile::Builder::new()
            .prefix("tresen-cups")
            .tempdir()
            .unwrap();
        // The scheduler's filters run as user lp when the tests run as root.
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let root = dir.path();
        for d in [
            "conf",
            "conf/ppd",
            "spool",
            "spool/tmp",
            "cache",
            "state",
            "log",
        ] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        let port = free_port();
        let server = format!("127.0.0.1:{port}");
        std::fs::write(
            root.join("conf/cupsd.conf"),
            format!(
                "Listen {server}\nLogLevel info\nBrowsing Off\nWebInterface No\nDefaultAuthType None\n\
                 <Location />\n  Order allow,deny\n  Allow 127.0.0.1\n</Location>\n\
                 <Policy default>\n  <Limit All>\n    Order deny,allow\n  </Limit>\n</Policy>\n"
            ),
        )
        .unwrap();
        let r = root.display();
        std::fs::write(
            root.join("conf/cups-files.conf"),
            format!(
                "ServerRoot {r}/conf\nRequestRoot {r}/spool\nTempDir {r}/spool/tmp\nCacheDir {r}/cache\n\
                 StateDir {r}/state\nAccessLog {r}/log/access_log\nErrorLog {r}/log/error_log\n\
                 PageLog {r}/log/page_log\nPrintcap\nSystemGroup root\n"
            ),
        )
        .unwrap();
        let cupsd = Command::new(sbin("cupsd"))
            .arg("-f")
            .arg("-c")
            .arg(root.join("conf/cupsd.conf"))
            .arg("-s")
            .arg(root.join("conf/cups-files.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cupsd starts");
        // ippeveprinter wants DNS-SD; a private bus lets Avahi's client start without a
        // daemon, and nothing is announced on the network.
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1", "--nopidfile"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon starts");
        let mut line = String::new();
        BufReader::new(bus.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let svc = PrintService {
            dir,
            server,
            cupsd,
            bus,
            bus_address: line.trim().to_string(),
            printers: Vec::new(),
        };
        svc.wait_for(port);
        svc
    }

    fn wait_for(&self, port: u16) {
        let t = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "nothing listens on port {port}: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log/error_log")).unwrap_or_default()
    }

    fn lp(&self, program: &str, args: &[&str]) {
        let out = Command::new(sbin(program))
            .env("CUPS_SERVER", &self.server)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A virtual printer that keeps its jobs, as a CUPS queue named `name`.
    pub fn add_printer(&mut self, name: &str) {
        let root = self.dir.path();
        let spool = root.join(format!("printer-{name}"));
        std::fs::create_dir_all(&spool).unwrap();
        let conf = root.join(format!("printer-{name}.conf"));
        std::fs::write(&conf, attributes()).unwrap();
        let keep = root.join("keep-job.sh");
        std::fs::write(
            &keep,
            "#!/bin/sh\nenv | grep -E '^IPP_' | sort > \"$1.env.part\" && mv \"$1.env.part\" \"$1.env\"\n",
        )
        .unwrap();
        std::fs::set_permissions(&keep, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let port = free_port();
        let child = Command::new(sbin("ippeveprinter"))
            .env("DBUS_SYSTEM_BUS_ADDRESS", &self.bus_address)
            .args(["-r", "off", "-k", "-p", &port.to_string()])
            .arg("-d")
            .arg(&spool)
            .arg("-a")
            .arg(&conf)
            .arg("-c")
            .arg(&keep)
            .arg(name)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ippeveprinter starts");
        self.printers.push((name.to_string(), child, spool));
        self.wait_for(port);
        self.lp(
            "lpadmin",
            &[
                "-p",
                name,
                "-v",
                &format!("ipp://localhost:{port}/ipp/print"),
                "-m",
                "everywhere",
                "-D",
                &format!("Virtual {name}"),
                "-E",
            ],
        );
        self.wait_for_paper(name);
    }

    /// Waits until the scheduler made the queue's PPD from the printer's answers (it does
    /// so in the background after `lpadmin -m everywhere`): then the queue lists its paper.
    fn wait_for_paper(&self, name: &str) {
        let t = Instant::now();
        loop {
            let out = Command::new("lpoptions")
                .env("CUPS_SERVER", &self.server)
                .args(["-p", name, "-l"])
                .output()
                .unwrap();
            if String::from_utf8_lossy(&out.stdout).contains("A3") {
                return;
            }
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "queue {name} never listed its paper: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops a queue as an owner would in the printer settings.
    pub fn stop(&self, name: &str, reason: &str) {
        self.lp("cupsdisable", &["-r", reason, name]);
    }

    pub fn start_again(&self, name: &str) {
        self.lp("cupsenable", &[name]);
    }

    /// Waits for the printer to have kept `n` jobs.
    pub fn kept(&self, name: &str, n: usize) -> Vec<KeptJob> {
        let spool = &self
            .printers
            .iter()
            .find(|p| p.0 == name)
            .expect("a printer added before")
            .2;
        let t = Instant::now();
        loop {
            let mut envs: Vec<PathBuf> = std::fs::read_dir(spool)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "env"))
                .collect();
            if envs.len() >= n {
                envs.sort_by_key(|p| {
                    let f = p.file_name().unwrap().to_string_lossy().to_string();
                    f.split('-').next().unwrap().parse::<u32>().unwrap_or(0)
                });
                return envs
                    .into_iter()
                    .map(|env| {
                        let attributes = std::fs::read_to_string(&env)
                            .unwrap()
                            .lines()
                            .filter_map(|l| l.split_once('='))
                            .map(|(k, v)| (k.to_string(), v.to_string()))
                            .collect();
                        KeptJob {
                            pdf: env.with_extension(""),
                            attributes,
                        }
                    })
                    .collect();
            }
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "printer {name} kept {} of {n} jobs: {}",
                envs.len(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for PrintService {
    fn drop(&mut self) {
        for (_, child, _) in &mut self.printers {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = self.cupsd.kill();
        let _ = self.cupsd.wait();
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}
