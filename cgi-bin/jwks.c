/* jwks.fcgi — serves jwtx_route_jwks (see include/jwtx/gateway.h). */
#include "jwtx/gateway.h"

int main(void)
{
    return jwtx_serve("jwks.fcgi", jwtx_route_jwks);
}
