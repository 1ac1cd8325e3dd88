dnl The RejectNUL option: with RejectNUL=True in the .cf (smtls's .mc files
dnl set it) a message holding a NUL byte is refused with 554 5.6.1, which
dnl closes the NUL variant of SMTP smuggling (CVE-2023-51765).
APPENDDEF(`conf_sendmail_ENVDEF', `-D_FFR_REJECT_NUL_BYTE')
