//! The use cases' errors: those of the floors below, each with its stable code for the
//! window to word in German and English.

use tresen_documents::documents::RestoreError;
use tresen_documents::pdf::PrintError;
use tresen_protocol::key_file::KeyFileError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Venue(#[from] tresen_venue::Error),
    #[error(transparent)]
    Print(#[from] PrintError),
    #[error(transparent)]
    Restore(#[from] RestoreError),
    #[error(transparent)]
    Demo(#[from] crate::demo::DemoError),
    #[error("could not read {}: {source}", .path.display())]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("register the guest first; the card is printed right after")]
    NoRegisteredGuest,
    #[error("{source}{}", match .pdf { Some(p) => format!(" (the PDF is kept: {})", p.display()), None => String::new() })]
    Printer {
        source: tresen_devices::printer::PrinterError,
        /// The document as PDF, saved before it was sent.
        pdf: Option<std::path::PathBuf>,
    },
    #[error("no receipt printer is set; set one in the operator's scanner and printer settings")]
    NoReceiptPrinter,
}

impl From<KeyFileError> for Error {
    fn from(e: KeyFileError) -> Self {
        Error::Venue(e.into())
    }
}

impl Error {
    /// The values the words for [`Error::code`] need.
    pub fn params(&self) -> tresen_venue::Params {
        use serde_json::json;
        let mut p = tresen_venue::Params::new();
        match self {
            Error::Venue(e) => return e.params(),
            Error::Restore(RestoreError::Missing { missing, total }) => {
                p.insert("missing".into(), json!(missing));
                p.insert("total".into(), json!(total));
            }
            Error::Read { path, .. } => {
                p.insert("path".into(), json!(path.display().to_string()));
            }
            Error::Printer { source, pdf } => {
                use tresen_devices::printer::PrinterError as P;
                if let Some(pdf) = pdf {
                    p.insert("pdf".into(), json!(pdf.display().to_string()));
                }
                match source {
                    P::Unreachable { server, reason } => {
                        p.insert("server".into(), json!(server));
                        p.insert("detail".into(), json!(reason));
                    }
                    P::NoSuchPrinter(name) => {
                        p.insert("printer".into(), json!(name));
                    }
                    P::Stopped {
                        printer,
                        reason,
                        message,
                    } => {
                        p.insert("printer".into(), json!(printer));
                        p.insert("reason".into(), json!(reason.code()));
                        p.insert("detail".into(), json!(message));
                    }
                    P::NotAccepting { printer, message } | P::Refused { printer, message } => {
                        p.insert("printer".into(), json!(printer));
                        p.insert("detail".into(), json!(message));
                    }
                    P::NoPaper {
                        printer,
                        media,
                        supported,
                    } => {
                        p.insert("printer".into(), json!(printer));
                        p.insert("media".into(), json!(media));
                        p.insert("detail".into(), json!(supported.join(", ")));
                    }
                    P::Protocol(m) | P::ReceiptSetting(m) => {
                        p.insert("detail".into(), json!(m));
                    }
                    P::ReceiptOpen { path, reason } | P::ReceiptWrite { path, reason } => {
                        p.insert("path".into(), json!(path));
                        p.insert("detail".into(), json!(reason));
                    }
                }
            }
            _ => {}
        }
        p
    }

    /// A stable name for the kind of error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Venue(e) => e.code(),
            Error::Print(_) => "print-failed",
            Error::Restore(RestoreError::NoCodes) => "restore-no-codes",
            Error::Restore(RestoreError::Missing { .. }) => "restore-missing",
            Error::Restore(RestoreError::Mixed) => "restore-mixed",
            Error::Restore(RestoreError::Image(_)) => "read-failed",
            Error::Restore(RestoreError::NotAKeyFile) => "not-a-key-file",
            Error::Demo(_) => "demo-failed",
            Error::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                "file-not-found"
            }
            Error::Read { .. } => "read-failed",
            Error::NoRegisteredGuest => "no-registered-guest",
            Error::Printer { source, .. } => source.code(),
            Error::NoReceiptPrinter => "no-receipt-printer",
        }
    }
}
