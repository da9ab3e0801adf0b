//! Reading a health office's request file, for the app and the `tresen` tool alike: read
//! once, bounded while reading, never blocking on a device or a pipe. The bytes are then
//! reviewed and, if approved, answered exactly as read.

use std::io::ErrorKind;
use std::path::Path;

use tresen_protocol::files::read_bounded;
use tresen_protocol::request::{RequestError, MAX_BYTES};

use crate::Error;

/// The request file's bytes; a file larger than any request is refused as too large.
pub fn read_request_file(path: &Path) -> Result<Vec<u8>, Error> {
    read_bounded(path, MAX_BYTES as u64).map_err(|source| match source.kind() {
        ErrorKind::FileTooLarge => Error::Venue(RequestError::TooLarge.into()),
        _ => Error::Read {
            path: path.to_path_buf(),
            source,
        },
    })
}
