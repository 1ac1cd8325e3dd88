dnl LDAP maps and ldap_routing (OpenLDAP client library).
APPENDDEF(`confMAPDEF', `-DLDAPMAP')
APPENDDEF(`confENVDEF', `-DLDAP_DEPRECATED')
APPENDDEF(`confLIBS', `-lldap -llber')
