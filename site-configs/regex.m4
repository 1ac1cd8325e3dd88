dnl Regular-expression maps (POSIX regex from the C library).
APPENDDEF(`confMAPDEF', `-DMAP_REGEX')
