dnl Elliptic-curve (ECDHE) key exchange and EC certificates.
APPENDDEF(`conf_sendmail_ENVDEF', `-D@EC_DEFINE@')
