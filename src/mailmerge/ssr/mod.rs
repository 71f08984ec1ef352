//! Server-only parts of the mail merge: the CSV upload, the stored imports,
//! and the report and queueing on top of the merge engine.

pub mod imports;
pub mod report;
pub mod upload;
