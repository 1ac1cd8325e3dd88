dnl Mail filters (milters); libmilter is built and packaged too.
APPENDDEF(`conf_sendmail_ENVDEF', `-DMILTER')
