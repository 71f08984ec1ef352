//! What a page loads, decoded as the server function that fetched it is.
//!
//! A server function's JSON result is read with `serde_json::from_slice`; a
//! `Resource` with Leptos' default codec reads the value sent with the page with
//! `serde_json::from_str`. For every result type those are two deserializers in
//! the wasm bundle. [`Json`] decodes with `from_slice` too, so both share one
//! (docs/operations.md, "The browser bundle").

use crate::error::AppError;
use leptos::prelude::*;
use leptos::server::codee::{Decoder, Encoder};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// JSON, decoded from bytes as server functions decode it.
pub struct Json;

impl<T: Serialize> Encoder<T> for Json {
    type Error = serde_json::Error;
    type Encoded = String;

    fn encode(val: &T) -> Result<Self::Encoded, Self::Error> {
        serde_json::to_string(val)
    }
}

impl<T: DeserializeOwned> Decoder<T> for Json {
    type Error = serde_json::Error;
    type Encoded = str;

    fn decode(val: &Self::Encoded) -> Result<T, Self::Error> {
        serde_json::from_slice(val.as_bytes())
    }
}

/// A page's data: a server function's result.
pub type Loaded<T> = Resource<Result<T, AppError>, Json>;

/// `Resource::new`, with the [`Json`] codec.
#[track_caller]
pub fn load<T, S, Fut>(
    source: impl Fn() -> S + Send + Sync + 'static,
    fetcher: impl Fn(S) -> Fut + Send + Sync + 'static,
) -> Resource<T, Json>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
    S: Send + Sync + Clone + PartialEq + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    // On the server the fetcher's future is the whole server function (its
    // queries' state machines among it), kilobytes that Leptos moves several
    // times while it sets the resource up; boxed, it moves as a pointer
    // (docs/operations.md, "The request path"). Pages load on the server
    // only (islands get their data as props), so this is the only path in use.
    #[cfg(feature = "ssr")]
    let fetcher = move |s: S| Box::pin(fetcher(s));
    Resource::new_with_options(source, fetcher, false)
}
