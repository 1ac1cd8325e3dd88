dnl The BadRcptShutdown and BadRcptShutdownGood options: after that many
dnl rejected RCPTs the daemon answers 421 and closes the connection. Both
dnl are 0 (off) unless the .cf sets them.
APPENDDEF(`conf_sendmail_ENVDEF', `-D_FFR_BADRCPT_SHUTDOWN')
