//! `ecbulk` adds emergency contact emails to DigiCert partner subaccounts in bulk.
//!
//! The modules follow the data's way through a run: [`input`] reads the CSV,
//! [`email`] and [`key`] judge its cells, [`plan`] groups and dedupes them into
//! requests, [`send`] paces and retries those requests, and [`report`] writes one
//! row per input address. [`sandbox`] is a local stand-in for the API.

pub mod app;
pub mod audit;
pub mod cli;
pub mod durable;
pub mod email;
pub mod exit;
pub mod follow;
pub mod input;
pub mod journal;
pub mod key;
pub mod limits;
pub mod lock;
pub mod monitor;
pub mod plan;
pub mod progress;
pub mod report;
pub mod resume;
pub mod run;
pub mod sandbox;
pub mod send;
pub mod settings;
pub mod signals;
pub mod status;
pub mod stop;
pub mod summary;
pub mod term;
