//! FAKE servers of the outside services we call, speaking their real HTTP protocols, so tests
//! and dev mode exercise the same client code as production. Nothing here moves money or
//! sends anything anywhere; every fake says so in its name and in the log.

pub mod ai;
pub mod geoip;
pub mod razorpay;
pub mod shopify;
