dnl Keep the build directory out of the objects.
APPENDDEF(`confCCOPTS', `-ffile-prefix-map=@SOURCE_DIR@=/usr/src/sendmail-@VERSION@')
