// Records the target triple so the OpenSSL probe can drive the `cc` crate
// outside a build script.
fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    println!("cargo:rustc-env=SMTLS_TARGET={target}");
    println!("cargo:rerun-if-changed=build.rs");
}
