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
#if __has_include("jwtx/request.h")
#include "jwtx/request.h"
#endif
#if __has_include("jwtx/response.h")
#include "jwtx/response.h"
#endif
#if __has_include("jwtx/locate.h")
#include "jwtx/locate.h"
#endif
#if __has_include("jwtx/users.h")
#include "jwtx/users.h"
#endif
#if __has_include("jwtx/blocklist.h")
#include "jwtx/blocklist.h"
#endif
#if __has_include("jwtx/verify.h")
#include "jwtx/verify.h"
#endif
#if __has_include("jwtx/gateway.h")
#include "jwtx/gateway.h"
#endif

#endif
