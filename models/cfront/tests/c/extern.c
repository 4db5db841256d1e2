/* A global that the C declares but nobody defines.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cfront.h"

extern int provided_elsewhere;

int main(void)
{
    cfront_observe("x", provided_elsewhere);
    return 0;
}
