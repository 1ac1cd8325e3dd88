dnl A non-system OpenSSL: its headers, its libraries, and an rpath to them.
APPENDDEF(`confINCDIRS', `-I@OPENSSL_INCDIR@')
APPENDDEF(`confLIBDIRS', `-L@OPENSSL_LIBDIR@ -Wl,-rpath,@OPENSSL_LIBDIR@')
