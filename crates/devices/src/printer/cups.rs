//! The system's print service (CUPS), spoken to over IPP with the `ipp` crate: its
//! printers with their state and paper, a job with the right media and no scaling, and
//! the job's progress.

use std::io::Cursor;
use std::time::Duration;

use ipp::prelude::*;
use serde::Serialize;

use super::PrinterError;

/// Where CUPS listens when `CUPS_SERVER` names nothing else.
const DEFAULT_SERVER: &str = "localhost:631";
const TIMEOUT: Duration = Duration::from_secs(20);

/// The print service on this PC (or the one `CUPS_SERVER` names, as every CUPS program
/// reads it).
#[derive(Debug, Clone)]
pub struct Cups {
    server: String,
}

/// A printer as CUPS lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrinterInfo {
    pub name: String,
    /// The description the owner gave it ("Büro-Laser").
    pub info: String,
    pub state: PrinterState,
    /// Why it is not printing, when it says.
    pub reason: Option<StopReason>,
    pub message: String,
    pub accepting: bool,
    /// The paper it takes, as IPP media names (`iso_a4_210x297mm`).
    pub media: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PrinterState {
    Idle,
    Printing,
    Stopped,
}

/// What stops a printer, from its `printer-state-reasons`, for the window to word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    OutOfPaper,
    Offline,
    /// Someone stopped the queue (`cupsdisable`, the printer settings).
    Paused,
    PaperJam,
    CoverOpen,
    /// Toner or ink is out.
    Supplies,
    /// Another reason, as the printer names it.
    Other(String),
}

impl Serialize for StopReason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl StopReason {
    /// A stable name, for the window's words; another reason gives its IPP keyword.
    pub fn code(&self) -> &str {
        match self {
            StopReason::OutOfPaper => "out-of-paper",
            StopReason::Offline => "offline",
            StopReason::Paused => "paused",
            StopReason::PaperJam => "paper-jam",
            StopReason::CoverOpen => "cover-open",
            StopReason::Supplies => "supplies",
            StopReason::Other(k) => k,
        }
    }

    /// The most telling of a printer's reasons; `none` and mere reports are no reason.
    fn of(reasons: &[String]) -> Option<StopReason> {
        let mut found = None;
        for r in reasons {
            let (word, level) = match r.rsplit_once('-') {
                Some((w, l @ ("error" | "warning" | "report"))) => (w, l),
                _ => (r.as_str(), "error"),
            };
            let reason = match word {
                "none" | "cups-waiting-for-job-completed" => continue,
                "media-empty" | "media-needed" | "input-tray-missing" => StopReason::OutOfPaper,
                "offline" | "connecting-to-device" | "timed-out" | "shutdown" => {
                    StopReason::Offline
                }
                "paused" | "moving-to-paused" => StopReason::Paused,
                "media-jam" => StopReason::PaperJam,
                "door-open" | "cover-open" | "interlock-open" => StopReason::CoverOpen,
                "toner-empty" | "marker-supply-empty" | "marker-waste-full" => StopReason::Supplies,
                _ if level != "error" => continue,
                other => StopReason::Other(other.to_string()),
            };
            // A named reason beats an unknown one.
            if found.is_none() || matches!(found, Some(StopReason::Other(_))) {
                found = Some(reason);
            }
        }
        found
    }
}

/// One document to print.
pub struct Job<'a> {
    pub title: &'a str,
    /// A PDF.
    pub document: &'a [u8],
    /// The IPP media name of its pages (see [`media_for`]).
    pub media: &'a str,
    pub copies: u32,
}

/// A job's progress, as the window shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobStatus {
    pub state: JobState,
    /// Why it waits or stopped: the printer's reason.
    pub reason: Option<StopReason>,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Printing,
    Stopped,
    Done,
    Cancelled,
    Failed,
}

impl JobState {
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobState::Done | JobState::Cancelled | JobState::Failed
        )
    }
}

/// The IPP media name of a page size: the ISO names for A3 to A6, else a custom size.
pub fn media_for(width_mm: f32, height_mm: f32) -> String {
    let (w, h) = (width_mm.round() as u32, height_mm.round() as u32);
    let (short, long) = (w.min(h), w.max(h));
    match (short, long) {
        (297, 420) => "iso_a3_297x420mm".into(),
        (210, 297) => "iso_a4_210x297mm".into(),
        (148, 210) => "iso_a5_148x210mm".into(),
        (105, 148) => "iso_a6_105x148mm".into(),
        _ => format!("custom_{short}x{long}mm_{short}x{long}mm"),
    }
}

/// CUPS refuses names with these, and they would change the printer's address.
fn check_name(name: &str) -> Result<(), PrinterError> {
    let bad = name.is_empty()
        || name == "."
        || name == ".."
        || name.len() > 127
        || name
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || "/#?%\\\"'".contains(c));
    if bad {
        return Err(PrinterError::NoSuchPrinter(name.to_string()));
    }
    Ok(())
}

fn values(v: &IppValue) -> Vec<String> {
    match v {
        IppValue::Array(a) => a.iter().map(|x| x.to_string()).collect(),
        other => vec![other.to_string()],
    }
}

fn int(v: Option<&IppAttribute>) -> Option<i32> {
    match v.map(|a| a.value()) {
        Some(IppValue::Integer(i)) | Some(IppValue::Enum(i)) => Some(*i),
        _ => None,
    }
}

fn text(v: Option<&IppAttribute>) -> String {
    v.map(|a| a.value().to_string()).unwrap_or_default()
}

fn strings(v: Option<&IppAttribute>) -> Vec<String> {
    v.map(|a| values(a.value())).unwrap_or_default()
}

const PRINTER_ATTRIBUTES: [&str; 7] = [
    "printer-name",
    "printer-info",
    "printer-state",
    "printer-state-reasons",
    "printer-state-message",
    "printer-is-accepting-jobs",
    "media-supported",
];

fn printer_info(g: &IppAttributeGroup) -> Option<PrinterInfo> {
    let name = text(g.get("printer-name"));
    if name.is_empty() {
        return None;
    }
    let reasons = strings(g.get("printer-state-reasons"));
    let state = match int(g.get("printer-state")) {
        Some(4) => PrinterState::Printing,
        Some(5) => PrinterState::Stopped,
        _ => PrinterState::Idle,
    };
    Some(PrinterInfo {
        name,
        info: text(g.get("printer-info")),
        state,
        reason: StopReason::of(&reasons),
        message: text(g.get("printer-state-message")),
        accepting: !matches!(
            g.get("printer-is-accepting-jobs").map(|a| a.value()),
            Some(IppValue::Boolean(false))
        ),
        media: strings(g.get("media-supported")),
    })
}

impl Cups {
    /// The print service `CUPS_SERVER` names (`host[:port]`), else this PC's. A socket
    /// path there means this PC's too, as CUPS also listens on localhost.
    pub fn from_env() -> Cups {
        let server = std::env::var("CUPS_SERVER")
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty() && !s.starts_with('/'))
            .unwrap_or_else(|| DEFAULT_SERVER.to_string());
        let server = if server.contains(':') {
            server
        } else {
            format!("{server}:631")
        };
        Cups { server }
    }

    /// The print service at `host:port`.
    pub fn at(server: &str) -> Cups {
        Cups {
            server: server.to_string(),
        }
    }

    pub fn server(&self) -> &str {
        &self.server
    }

    fn uri(&self, path: &str) -> Result<Uri, PrinterError> {
        format!("http://{}{path}", self.server)
            .parse()
            .map_err(|_| PrinterError::Unreachable {
                server: self.server.clone(),
                reason: "not a host name and port".into(),
            })
    }

    fn printer_uri(&self, name: &str) -> Result<Uri, PrinterError> {
        check_name(name)?;
        self.uri(&format!("/printers/{name}"))
    }

    fn send(&self, uri: Uri, req: IppRequestResponse) -> Result<IppRequestResponse, PrinterError> {
        let client = IppClient::builder(uri).request_timeout(TIMEOUT).build();
        let resp = client.send(req).map_err(|e| match e {
            IppError::RequestError(404) => PrinterError::NoSuchPrinter(String::new()),
            e => PrinterError::Unreachable {
                server: self.server.clone(),
                reason: e.to_string(),
            },
        })?;
        Ok(resp)
    }

    fn request(operation: Operation, uri: Option<Uri>) -> Result<IppRequestResponse, PrinterError> {
        IppRequestResponse::new(IppVersion::v2_0(), operation, uri)
            .map_err(|e| PrinterError::Protocol(e.to_string()))
    }

    fn add(
        req: &mut IppRequestResponse,
        tag: DelimiterTag,
        name: &str,
        value: IppValue,
    ) -> Result<(), PrinterError> {
        let attr = IppAttribute::with_name(name, value)
            .map_err(|e| PrinterError::Protocol(e.to_string()))?;
        req.attributes_mut().add(tag, attr);
        Ok(())
    }

    fn keyword(s: &str) -> Result<IppValue, PrinterError> {
        IppValue::new_keyword(s).map_err(|e| PrinterError::Protocol(e.to_string()))
    }

    fn requested(req: &mut IppRequestResponse, names: &[&str]) -> Result<(), PrinterError> {
        let list = names
            .iter()
            .map(|n| Self::keyword(n))
            .collect::<Result<Vec<_>, _>>()?;
        Self::add(
            req,
            DelimiterTag::OperationAttributes,
            "requested-attributes",
            IppValue::Array(list),
        )?;
        Ok(())
    }

    fn status(resp: &IppRequestResponse, printer: &str) -> Result<(), PrinterError> {
        let code = resp.header().status_code();
        if code.is_success() {
            return Ok(());
        }
        let message = resp
            .attributes()
            .groups_of(DelimiterTag::OperationAttributes)
            .find_map(|g| g.get("status-message"))
            .map(|a| a.value().to_string())
            .unwrap_or_else(|| code.to_string());
        Err(match code {
            StatusCode::ClientErrorNotFound => PrinterError::NoSuchPrinter(printer.to_string()),
            StatusCode::ServerErrorNotAcceptingJobs => PrinterError::NotAccepting {
                printer: printer.to_string(),
                message,
            },
            _ => PrinterError::Refused {
                printer: printer.to_string(),
                message,
            },
        })
    }

    /// Every printer CUPS has.
    pub fn printers(&self) -> Result<Vec<PrinterInfo>, PrinterError> {
        let mut req = Self::request(Operation::CupsGetPrinters, None)?;
        Self::requested(&mut req, &PRINTER_ATTRIBUTES)?;
        let resp = self.send(self.uri("/")?, req)?;
        Self::status(&resp, "")?;
        let mut list: Vec<PrinterInfo> = resp
            .attributes()
            .groups_of(DelimiterTag::PrinterAttributes)
            .filter_map(printer_info)
            .collect();
        list.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(list)
    }

    /// One printer, by its CUPS name.
    pub fn printer(&self, name: &str) -> Result<PrinterInfo, PrinterError> {
        let uri = self.printer_uri(name)?;
        let mut req = Self::request(Operation::GetPrinterAttributes, Some(uri.clone()))?;
        Self::requested(&mut req, &PRINTER_ATTRIBUTES)?;
        let resp = self.send(uri, req).map_err(|e| e.naming(name))?;
        Self::status(&resp, name)?;
        let info = resp
            .attributes()
            .groups_of(DelimiterTag::PrinterAttributes)
            .find_map(printer_info);
        info.ok_or_else(|| PrinterError::NoSuchPrinter(name.to_string()))
    }

    /// Sends a job, after checking that the printer runs, accepts jobs and has the paper;
    /// gives the job's number.
    pub fn submit(&self, printer: &str, job: &Job<'_>) -> Result<i32, PrinterError> {
        let p = self.printer(printer)?;
        if p.state == PrinterState::Stopped {
            return Err(PrinterError::Stopped {
                printer: p.name,
                reason: p.reason.unwrap_or(StopReason::Paused),
                message: p.message,
            });
        }
        if !p.accepting {
            return Err(PrinterError::NotAccepting {
                printer: p.name,
                message: p.message,
            });
        }
        if !p.media.is_empty() && !p.media.iter().any(|m| m == job.media) {
            return Err(PrinterError::NoPaper {
                printer: p.name,
                media: job.media.to_string(),
                supported: p.media,
            });
        }
        let uri = self.printer_uri(printer)?;
        let mut req = Self::request(Operation::PrintJob, Some(uri.clone()))?;
        let op = DelimiterTag::OperationAttributes;
        let user = std::env::var("USER").unwrap_or_else(|_| "tresen".into());
        let name = |s: &str| {
            IppValue::new_name_without_language(s)
                .map_err(|e| PrinterError::Protocol(e.to_string()))
        };
        Self::add(&mut req, op, "requesting-user-name", name(&user)?)?;
        Self::add(&mut req, op, "job-name", name(job.title)?)?;
        Self::add(
            &mut req,
            op,
            "document-format",
            IppValue::new_mime_media_type("application/pdf")
                .map_err(|e| PrinterError::Protocol(e.to_string()))?,
        )?;
        let jt = DelimiterTag::JobAttributes;
        Self::add(&mut req, jt, "media", Self::keyword(job.media)?)?;
        Self::add(
            &mut req,
            jt,
            "copies",
            IppValue::Integer(job.copies.clamp(1, 99) as i32),
        )?;
        Self::add(&mut req, jt, "sides", Self::keyword("one-sided")?)?;
        // A poster's QR code and a tent's fold marks are measured: print at 100 %.
        Self::add(&mut req, jt, "print-scaling", Self::keyword("none")?)?;
        Self::add(&mut req, jt, "fit-to-page", IppValue::Boolean(false))?;
        *req.payload_mut() = IppPayload::new(Cursor::new(job.document.to_vec()));
        let resp = self.send(uri, req).map_err(|e| e.naming(printer))?;
        Self::status(&resp, printer)?;
        let id = int(resp
            .attributes()
            .groups_of(DelimiterTag::JobAttributes)
            .find_map(|g| g.get("job-id")));
        id.ok_or_else(|| PrinterError::Protocol("the print service gave no job number".into()))
    }

    /// How a job is doing, with the printer's reason when it waits or stopped.
    pub fn job(&self, printer: &str, job_id: i32) -> Result<JobStatus, PrinterError> {
        let uri = self.printer_uri(printer)?;
        let mut req = Self::request(Operation::GetJobAttributes, Some(uri.clone()))?;
        Self::add(
            &mut req,
            DelimiterTag::OperationAttributes,
            "job-id",
            IppValue::Integer(job_id),
        )?;
        Self::requested(
            &mut req,
            &[
                "job-state",
                "job-state-reasons",
                "job-printer-state-message",
            ],
        )?;
        let resp = self.send(uri, req).map_err(|e| e.naming(printer))?;
        Self::status(&resp, printer)?;
        let g = resp
            .attributes()
            .groups_of(DelimiterTag::JobAttributes)
            .next()
            .ok_or_else(|| PrinterError::Protocol("the print service gave no job state".into()))?;
        let state = match int(g.get("job-state")) {
            Some(5) => JobState::Printing,
            Some(6) => JobState::Stopped,
            Some(7) => JobState::Cancelled,
            Some(8) => JobState::Failed,
            Some(9) => JobState::Done,
            _ => JobState::Queued,
        };
        let mut status = JobStatus {
            state,
            reason: None,
            message: text(g.get("job-printer-state-message")),
        };
        if !state.is_final() {
            let p = self.printer(printer)?;
            status.reason = p.reason;
            if status.message.is_empty() {
                status.message = p.message;
            }
            if p.state == PrinterState::Stopped && state == JobState::Queued {
                status.state = JobState::Stopped;
                status.reason.get_or_insert(StopReason::Paused);
            }
        }
        Ok(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_names_follow_the_page_size() {
        assert_eq!(media_for(210.0, 297.0), "iso_a4_210x297mm");
        assert_eq!(media_for(297.0, 210.0), "iso_a4_210x297mm");
        assert_eq!(media_for(297.0, 420.0), "iso_a3_297x420mm");
        assert_eq!(media_for(105.0, 148.0), "iso_a6_105x148mm");
        assert_eq!(media_for(62.0, 100.0), "custom_62x100mm_62x100mm");
    }

    #[test]
    fn a_printer_name_cannot_change_the_address() {
        for bad in [
            "", ".", "..", "a/b", "../admin", "x#y", "a b", "a?op=1", "a%2f",
        ] {
            assert!(
                matches!(check_name(bad), Err(PrinterError::NoSuchPrinter(_))),
                "{bad}"
            );
        }
        assert!(check_name("Buero-Laser_2").is_ok());
    }

    #[test]
    fn reasons_are_read_as_a_person_would() {
        let r = |v: &[&str]| StopReason::of(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(r(&["none"]), None);
        assert_eq!(r(&["media-empty-error"]), Some(StopReason::OutOfPaper));
        assert_eq!(r(&["paused"]), Some(StopReason::Paused));
        assert_eq!(r(&["offline-report"]), Some(StopReason::Offline));
        assert_eq!(r(&["toner-low-warning"]), None);
        assert_eq!(
            r(&["spool-area-full", "media-jam-error"]),
            Some(StopReason::PaperJam)
        );
        assert_eq!(
            r(&["spool-area-full"]),
            Some(StopReason::Other("spool-area-full".into()))
        );
    }
}
