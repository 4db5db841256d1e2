/* Linked with link_b.c: a driver calling a library in another file.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cfront.h"

long lib_add(long x);
extern long lib_total;

int main(void)
{
    lib_add(2);
    lib_add(3);
    cfront_observe("total", lib_total);
    return 0;
}
