/* refresh.fcgi — serves jwtx_route_refresh (see include/jwtx/gateway.h). */
#include "jwtx/gateway.h"

int main(void)
{
    return jwtx_serve("refresh.fcgi", jwtx_route_refresh);
}
