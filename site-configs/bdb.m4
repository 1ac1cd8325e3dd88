dnl Berkeley DB hash and btree maps (makemap hash, aliases.db).
APPENDDEF(`confMAPDEF', `-DNEWDB')
APPENDDEF(`confLIBS', `-ldb')
dnl DB 5 and later lock files with flock(); sendmail refuses them without it.
APPENDDEF(`confENVDEF', `-DHASFLOCK=1')
