/* authorizer.fcgi — serves jwtx_route_authorizer (see include/jwtx/gateway.h). */
#include "jwtx/gateway.h"

int main(void)
{
    return jwtx_serve("authorizer.fcgi", jwtx_route_authorizer);
}
