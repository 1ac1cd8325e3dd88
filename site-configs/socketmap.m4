dnl Socket maps: lookups answered by an external server (MTA-STS resolvers).
APPENDDEF(`confMAPDEF', `-DSOCKETMAP')
