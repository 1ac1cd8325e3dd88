dnl ServerCertFile/ClientCertFile hold a full chain (leaf, then intermediates):
dnl SSL_CTX_use_certificate_chain_file instead of a single certificate.
APPENDDEF(`conf_sendmail_ENVDEF', `-D_FFR_TLS_USE_CERTIFICATE_CHAIN_FILE')
