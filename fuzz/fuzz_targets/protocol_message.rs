//! The protocol message decoder: the payload of a peer's protocol frame, before manul verifies
//! it. Decoding must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = keywheel_mpc::driver::decode_message(data);
});
