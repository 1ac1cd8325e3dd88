dnl DANE (RFC 7672): TLSA records authenticate the peer certificate.
APPENDDEF(`conf_sendmail_ENVDEF', `-DDANE')
