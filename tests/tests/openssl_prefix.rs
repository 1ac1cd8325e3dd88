//! `--openssl-prefix`: a non-system OpenSSL builds, links with a run path
//! into the prefix, verifies and passes smoke; packaging bundles it.

#[test]
fn openssl111_prefix_is_built() {
    let p = smtls_tests::openssl::openssl111_prefix().expect("building OpenSSL 1.1.1");
    assert!(p.join("lib/libssl.so.1.1").is_file());
}
