dnl The SetCertAltnames option (FEATURE(`check_cert_altnames') sets it): a
dnl TLS peer's DNS subjectAltNames join class {cert_altnames}, so the CN
dnl checks of access-map TLS_Srv/TLS_Rcpt entries also match a name there.
APPENDDEF(`conf_sendmail_ENVDEF', `-D_FFR_TLS_ALTNAMES')
