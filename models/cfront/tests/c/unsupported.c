/* An unsupported construct: floating point.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include "cfront.h"

volatile double scale = 3.0;

int main(void)
{
    double d = scale;
    d = d / 7.0;
    cfront_observe("d", (long)d);
    return 0;
}

int calls_printf(void)
{
    return printf("hello\n");
}
