//! Clients of the outside services SoraiPixel talks to. Each speaks the real protocol and
//! has a clearly labelled dev-mode stand-in used when no credentials are configured.

pub mod mail;
pub mod sms;
