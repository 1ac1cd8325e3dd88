dnl Hardening as Debian builds its packages (dpkg-buildflags, hardening=+all):
dnl fortify, stack protector, format checks; relro and bindnow at link time.
APPENDDEF(`confCCOPTS', `@HARDENING_CFLAGS@')
APPENDDEF(`confLDOPTS', `@HARDENING_LDFLAGS@')
