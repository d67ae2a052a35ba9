//! The extrinsic decoder: any bytes `keywheel_submit` receives. Decoding and the signature check
//! must never panic, and whatever decodes must encode back to exactly the same bytes.
#![no_main]

use keywheel_rpc::Extrinsic;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(extrinsic) = Extrinsic::decode(data) {
        let _ = extrinsic.verify_signature();
        assert_eq!(extrinsic.encode(), data, "a decoded extrinsic re-encodes to its bytes");
    }
});
