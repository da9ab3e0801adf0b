//! Printers: the system's print service (CUPS over IPP) for documents, and a thermal
//! receipt printer (ESC/POS over USB or serial) for the guest's slip at the counter.

pub mod cups;
pub mod receipt;

pub use cups::{Cups, JobState, JobStatus, PrinterInfo, PrinterState, StopReason};

#[derive(Debug, thiserror::Error)]
pub enum PrinterError {
    #[error(
        "the print service at {server} does not answer ({reason}); is CUPS installed and running?"
    )]
    Unreachable { server: String, reason: String },
    #[error("there is no printer named '{0}'; `tresen printer list` shows the printers")]
    NoSuchPrinter(String),
    #[error("printer {printer} is stopped ({}{}); start it again in the printer settings", .reason.code(), if .message.is_empty() { String::new() } else { format!(": {}", .message) })]
    Stopped {
        printer: String,
        reason: StopReason,
        message: String,
    },
    #[error(
        "printer {printer} accepts no jobs now ({message}); allow jobs in the printer settings"
    )]
    NotAccepting { printer: String, message: String },
    #[error("printer {printer} has no {media} paper (it has: {})", .supported.join(", "))]
    NoPaper {
        printer: String,
        media: String,
        supported: Vec<String>,
    },
    #[error("printer {printer} refused the job: {message}")]
    Refused { printer: String, message: String },
    #[error("the print service answered in a way Tresen does not understand: {0}")]
    Protocol(String),
    #[error("receipt printer setting not valid: {0}")]
    ReceiptSetting(String),
    #[error("the receipt printer at {path} cannot be opened: {reason}")]
    ReceiptOpen { path: String, reason: String },
    #[error("the receipt printer at {path} stopped taking the slip: {reason}; is it switched on and its cover closed?")]
    ReceiptWrite { path: String, reason: String },
}

impl PrinterError {
    /// Names the printer in an error that only knew the address.
    fn naming(self, printer: &str) -> PrinterError {
        match self {
            PrinterError::NoSuchPrinter(n) if n.is_empty() => {
                PrinterError::NoSuchPrinter(printer.to_string())
            }
            e => e,
        }
    }

    /// A stable name for the kind of error, for the window to word.
    pub fn code(&self) -> &'static str {
        match self {
            PrinterError::Unreachable { .. } => "printer-service-unreachable",
            PrinterError::NoSuchPrinter(_) => "printer-unknown",
            PrinterError::Stopped { .. } => "printer-stopped",
            PrinterError::NotAccepting { .. } => "printer-not-accepting",
            PrinterError::NoPaper { .. } => "printer-no-paper-size",
            PrinterError::Refused { .. } | PrinterError::Protocol(_) => "printer-refused",
            PrinterError::ReceiptSetting(_) => "receipt-setting-invalid",
            PrinterError::ReceiptOpen { .. } => "receipt-open-failed",
            PrinterError::ReceiptWrite { .. } => "receipt-write-failed",
        }
    }
}
