//! Clients of the outside services SoraiPixel talks to. Each speaks the real protocol and
//! has a clearly labelled dev-mode stand-in used when no credentials are configured
//! (for Razorpay and the image/vision models, the fake servers in the `fakes` crate).

pub mod ai;
pub mod mail;
pub mod razorpay;
pub mod shopify;
pub mod sms;
