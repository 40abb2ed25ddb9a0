/*
 * jwtx.h — the whole public API of libjwtx: include this one header.
 */
#ifndef JWTX_JWTX_H
#define JWTX_JWTX_H

#include "jwtx/errors.h"
#include "jwtx/json.h"
#include "jwtx/b64url.h"
#include "jwtx/config.h"
#include "jwtx/jws.h"
#include "jwtx/keys.h"
#include "jwtx/tokens.h"
#include "jwtx/request.h"
#include "jwtx/response.h"
#include "jwtx/locate.h"
#include "jwtx/users.h"
#include "jwtx/blocklist.h"
#include "jwtx/verify.h"
#include "jwtx/audit.h"
#include "jwtx/client.h"
#include "jwtx/regulate.h"
#include "jwtx/gateway.h"

#endif
