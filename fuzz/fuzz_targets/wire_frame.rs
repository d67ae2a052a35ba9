//! The peer wire decoder: any bytes a peer sends after the Noise handshake. Decoding must never
//! panic, and whatever decodes must encode back to exactly the same bytes.
#![no_main]

use keywheel_tss::wire::{decode_frame, encode_frame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(frame) = decode_frame(data) {
        let again = encode_frame(&frame);
        assert_eq!(again, data, "a decoded frame re-encodes to its bytes");
    }
});
