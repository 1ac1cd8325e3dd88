dnl Elliptic-curve (ECDHE) key exchange and EC certificates. TLS_EC=2
dnl (SSL_CTX_set_ecdh_auto) keeps OpenSSL's default groups, X25519 first;
dnl TLS_EC=1 would pin P-256 alone (see docs/releases.md).
APPENDDEF(`conf_sendmail_ENVDEF', `-D@EC_DEFINE@')
