/* ISA2.  SPDX-License-Identifier: LGPL-2.1-or-later
 * t1: x = 1; y = 1     t2: r1 = y; z = 1     t3: r2 = z; r3 = x
 * STRONG 1: the y and z stores release, their loads acquire: r1 = 1, r2 = 1,
 * r3 = 0 is forbidden (happens-before is transitive).  STRONG 0: relaxed, allowed. */
#include <pthread.h>
#include <stdatomic.h>
#include "cfront.h"

#ifndef STRONG
#define STRONG 0
#endif
#if STRONG
#define REL memory_order_release
#define ACQ memory_order_acquire
#else
#define REL memory_order_relaxed
#define ACQ memory_order_relaxed
#endif

atomic_int x, y, z;
int r1, r2, r3;

static void *t1(void *arg)
{
    atomic_store_explicit(&x, 1, memory_order_relaxed);
    atomic_store_explicit(&y, 1, REL);
    return arg;
}

static void *t2(void *arg)
{
    r1 = atomic_load_explicit(&y, ACQ);
    atomic_store_explicit(&z, 1, REL);
    return arg;
}

static void *t3(void *arg)
{
    r2 = atomic_load_explicit(&z, ACQ);
    r3 = atomic_load_explicit(&x, memory_order_relaxed);
    return arg;
}

int main(void)
{
    pthread_t a, b, c;
    pthread_create(&a, NULL, t1, NULL);
    pthread_create(&b, NULL, t2, NULL);
    pthread_create(&c, NULL, t3, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    pthread_join(c, NULL);
    cfront_observe("r1", r1);
    cfront_observe("r2", r2);
    cfront_observe("r3", r3);
    return 0;
}
