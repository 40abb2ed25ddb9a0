/* logout.fcgi — serves jwtx_route_logout (see include/jwtx/gateway.h). */
#include "jwtx/gateway.h"

int main(void)
{
    return jwtx_serve("logout.fcgi", jwtx_route_logout);
}
