dnl Milter support off (sendmail enables it by default).
APPENDDEF(`conf_sendmail_ENVDEF', `-DMILTER=0')
