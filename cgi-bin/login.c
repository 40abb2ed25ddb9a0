/* login.fcgi — serves jwtx_route_login (see include/jwtx/gateway.h). */
#include "jwtx/gateway.h"

int main(void)
{
    return jwtx_serve("login.fcgi", jwtx_route_login);
}
