dnl PICKY_HELO_CHECK: an X-Authentication-Warning header when a client's
dnl HELO name is not the name its address resolves to.
APPENDDEF(`conf_sendmail_ENVDEF', `-DPICKY_HELO_CHECK')
