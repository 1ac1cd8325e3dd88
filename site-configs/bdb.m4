dnl Berkeley DB hash and btree maps (makemap hash, aliases.db).
APPENDDEF(`confMAPDEF', `-DNEWDB')
dnl The library: -ldb on Linux (libdb-dev); none on FreeBSD, whose libc has
dnl Berkeley DB 1.85.
APPENDDEF(`confLIBS', `@DB_LIBS@')
dnl DB 5 and later lock files with flock(); sendmail refuses them without it.
APPENDDEF(`confENVDEF', `-DHASFLOCK=1')
