dnl MTA-STS (RFC 8461), experimental: needs regex and socket maps and a
dnl resolver such as postfix-mta-sts-resolver behind FEATURE(`sts').
dnl _FFR_TLS_ALTNAMES, which it needs, comes with the tls-altnames option.
APPENDDEF(`conf_sendmail_ENVDEF', `-D_FFR_MTA_STS')
