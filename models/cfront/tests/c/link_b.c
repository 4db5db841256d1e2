/* The library half of link_a.c.  SPDX-License-Identifier: LGPL-2.1-or-later */
long lib_total = 10;

long lib_add(long x)
{
    lib_total += x;
    return lib_total;
}
