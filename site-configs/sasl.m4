dnl SMTP AUTH with Cyrus SASL v2 (confAUTH_MECHANISMS, confAUTH_OPTIONS).
APPENDDEF(`conf_sendmail_ENVDEF', `-DSASL=2')
APPENDDEF(`conf_sendmail_LIBS', `-lsasl2')
