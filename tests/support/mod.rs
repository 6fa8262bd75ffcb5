//! Test support shared by the integration tests: the Alibaba Cloud emulator (its own crate,
//! crates/aliyun-emulator, re-exported here as `support::emulator`), a Pebble harness and the rig
//! that runs the `alicert` binary against both. Each test crate uses a different part, so every
//! module allows dead code (pebble.rs does so itself).

pub mod ari_front;
#[allow(dead_code)]
pub mod clients;
#[allow(dead_code)]
pub mod console;
#[allow(dead_code)]
pub mod edge;
#[allow(dead_code)]
pub mod inbox;
pub mod outcome;
pub mod pebble;
pub mod persist_front;
#[allow(dead_code)]
pub mod rig;
#[allow(dead_code)]
pub mod router;
pub mod scenario;
pub mod serial_front;

/// The emulator crate, with its handle wrapped so `emu.client(..)` (alicert's client) works:
/// test files keep their `support::emulator::{start, Emulator, Seed, ..}` paths.
#[allow(unused_imports)] // each test crate uses a different part
pub mod emulator {
    pub use super::clients::{start, start_on, Emulator};
    pub use aliyun_emulator::*;
}
