dnl A non-system OpenSSL: its headers, its libraries, and a run path to them
dnl (DT_RUNPATH, so LD_LIBRARY_PATH can still override it). No commas: m4
dnl splits an APPENDDEF argument at every comma it rescans (a second
dnl APPENDDEF to the same macro rescans the first one's text), so
dnl `-Wl,-rpath,DIR' would reach the Makefiles as `-Wl'. -Xlinker passes
dnl each word to the linker without one.
APPENDDEF(`confINCDIRS', `-I@OPENSSL_INCDIR@')
APPENDDEF(`confLIBDIRS', `-L@OPENSSL_LIBDIR@ -Xlinker --enable-new-dtags -Xlinker -rpath -Xlinker @OPENSSL_LIBDIR@')
