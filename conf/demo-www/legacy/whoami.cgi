#!/bin/sh
# A legacy CGI program behind the jwtx authorizer: it only reads the
# environment the web server hands it (REMOTE_USER and the JWT_* variables).
printf 'Content-Type: text/plain; charset=utf-8\r\n\r\n'
printf 'remote_user=%s\n' "${REMOTE_USER:-}"
printf 'jwt_identity=%s\n' "${JWT_IDENTITY:-}"
printf 'jwt_type=%s\n' "${JWT_TYPE:-}"
printf 'jwt_fresh=%s\n' "${JWT_FRESH:-}"
printf 'jwt_claims=%s\n' "${JWT_CLAIMS:-}"
