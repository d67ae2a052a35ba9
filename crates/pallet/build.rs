//! The pallet's tests include `keywheel-chain`'s rule tests; this cfg makes them drive the
//! pallet's harness instead of the dev node's chain (see `../chain/tests/support`).
fn main() {
    println!("cargo::rustc-check-cfg=cfg(keywheel_pallet_harness)");
    println!("cargo::rustc-cfg=keywheel_pallet_harness");
}
