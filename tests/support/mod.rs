//! Test support shared by the integration tests: an Alibaba Cloud emulator, a Pebble harness and
//! the rig that runs the `alicert` binary against both. Each test crate uses a different part, so
//! every module allows dead code (emulator/mod.rs and pebble.rs do so themselves).

pub mod ari_front;
pub mod emulator;
pub mod outcome;
pub mod pebble;
#[allow(dead_code)]
pub mod rig;
pub mod scenario;
