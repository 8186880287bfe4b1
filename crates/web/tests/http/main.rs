//! HTTP tests: a real server on 127.0.0.1:0 driven by a real client, on SQLite and on
//! PostgreSQL, with a fake MSG91 that speaks its Flow API. One binary links once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod accounts;
mod activity;
mod analytics;
mod api_keys;
mod attacks;
mod batches;
mod billing;
mod cloud;
mod consents;
mod creations;
mod deletion;
mod export;
mod harness;
mod listings;
mod otp;
mod people;
mod protection;
mod referrals;
mod removebg;
mod rotation;
mod tls;
mod uploads;
mod webhooks;
