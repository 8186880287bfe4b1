//! Clients of the outside services SoraiPixel talks to. Each speaks the real protocol and
//! has a clearly labelled dev-mode stand-in used when no credentials are configured
//! (for Razorpay, the fake server in the `fakes` crate).

pub mod mail;
pub mod razorpay;
pub mod sms;
