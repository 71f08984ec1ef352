//! Small reusable pieces of UI. No business logic lives here.

pub mod attach;
pub mod csv;
pub mod data;
pub mod form;
pub mod markdown;
pub mod paging;
pub mod preview;
pub mod progress;
pub mod rows;
pub mod shell;
