dnl STARTTLS: TLS for the MTA (server and client side) with OpenSSL.
APPENDDEF(`conf_sendmail_ENVDEF', `-DSTARTTLS')
APPENDDEF(`conf_sendmail_LIBS', `-lssl -lcrypto')
