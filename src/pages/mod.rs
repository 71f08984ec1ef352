//! One module per page. Pages render forms and call server functions; the logic
//! lives in the feature modules.

pub mod account;
pub mod admin;
pub mod auth;
pub mod campaigns;
pub mod compose;
pub mod dashboard;
pub mod files;
pub mod landing;
pub mod merge;
pub mod not_found;
pub mod queue;
pub mod sent;
pub mod settings;
pub mod suppression;
pub mod templates;
