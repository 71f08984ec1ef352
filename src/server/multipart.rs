//! Reading a multipart form as it streams, every chunk counted against a limit,
//! so an oversized upload is refused before it is read to the end (the limits
//! are in docs/limits.md). The Files upload and the recipients upload both read
//! through this.

use bytes::Bytes;
use leptos::server_fn::codec::MultipartData;

pub type Field = multer::Field<'static>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadError {
    /// Not a multipart body, or its framing is broken.
    Unreadable,
    /// The body stopped in the middle of a field: the connection dropped.
    Interrupted,
    /// More bytes than the limit; the caller says which limit.
    TooLarge,
}

impl ReadError {
    /// What the person is told, for the errors that are not about size.
    pub fn message(self) -> &'static str {
        match self {
            ReadError::Unreadable => "The upload could not be read. Try again.",
            ReadError::Interrupted => "The upload was interrupted. Try again.",
            ReadError::TooLarge => "The upload is too large.",
        }
    }
}

/// A form's fields, one after another.
pub struct Form(multer::Multipart<'static>);

impl Form {
    pub fn of(data: MultipartData) -> Result<Self, ReadError> {
        data.into_inner().map(Form).ok_or(ReadError::Unreadable)
    }

    pub async fn next(&mut self) -> Result<Option<Field>, ReadError> {
        self.0.next_field().await.map_err(|_| ReadError::Unreadable)
    }
}

/// The field's next chunk, its length added to `read`: `TooLarge` as soon as
/// `read` passes `max`, before the chunk is kept anywhere.
pub async fn chunk(
    field: &mut Field,
    read: &mut u64,
    max: u64,
) -> Result<Option<Bytes>, ReadError> {
    let Some(chunk) = field.chunk().await.map_err(|_| ReadError::Interrupted)? else {
        return Ok(None);
    };
    *read += chunk.len() as u64;
    if *read > max {
        return Err(ReadError::TooLarge);
    }
    Ok(Some(chunk))
}

/// The rest of a field in memory, counted into `read` against `max`.
pub async fn read_all(field: &mut Field, read: &mut u64, max: u64) -> Result<Vec<u8>, ReadError> {
    let mut bytes = Vec::new();
    while let Some(c) = chunk(field, read, max).await? {
        bytes.extend_from_slice(&c);
    }
    Ok(bytes)
}

/// Reads on without keeping anything until the field ends or `read` passes
/// `max`: a browser that is let finish sending reads the answer, where a reset
/// connection would show it an error page.
pub async fn discard(field: &mut Field, mut read: u64, max: u64) {
    while let Ok(Some(_)) = chunk(field, &mut read, max).await {}
}
