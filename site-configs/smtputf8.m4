dnl SMTPUTF8 (RFC 6530-6533, experimental since 8.17.1): USE_EAI and ICU,
dnl as devtools/Site/site.config.m4.sample shows; the cf option SMTPUTF8
dnl then turns it on.
APPENDDEF(`confENVDEF', `-DUSE_EAI')
APPENDDEF(`confLIBS', `-licuuc')
