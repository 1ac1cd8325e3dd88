dnl IPv6 sockets (DAEMON_OPTIONS with Family=inet6).
APPENDDEF(`confENVDEF', `-DNETINET6')
