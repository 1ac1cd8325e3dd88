dnl Constant DataBase maps (tinycdb), read-only and fast.
APPENDDEF(`confMAPDEF', `-DCDB')
APPENDDEF(`confLIBS', `-lcdb')
