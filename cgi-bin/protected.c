/* protected.fcgi — serves jwtx_route_protected (see include/jwtx/gateway.h). */
#include "jwtx/gateway.h"

int main(void)
{
    return jwtx_serve("protected.fcgi", jwtx_route_protected);
}
