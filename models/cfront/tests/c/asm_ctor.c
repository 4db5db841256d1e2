/* Constructors run in every execution; QEMU's empty inline assemblies.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cfront.h"

static int ready;
static _Thread_local int slot = 5;

__attribute__((constructor)) static void init(void)
{
    ready += 1;
}

/* As QEMU_DEFINE_CO_TLS does: hide the address of a thread-local from the
 * optimiser with an empty asm that has a "+rm" operand. */
static int *get_slot(void)
{
    int *p = &slot;
    asm volatile("" : "+rm"(p));
    return p;
}

int main(void)
{
    asm volatile("" ::: "memory"); /* barrier() */
    *get_slot() += 1;
    cfront_observe("ready", ready);
    cfront_observe("slot", slot);
    return 0;
}

int bad_asm(void)
{
    int x = 1;
    asm volatile("nop" : "+r"(x));
    return x;
}
