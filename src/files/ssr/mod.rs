//! Files on the server: uploads, storage, downloads and attaching.

pub mod download;
pub mod repo;
pub mod sniff;
pub mod upload;
