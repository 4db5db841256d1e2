/* S.  SPDX-License-Identifier: LGPL-2.1-or-later
 * t1: x = 2; y = 1            t2: r1 = y; x = 1          then main reads x
 * STRONG 1: y's store release, its load acquire: r1 = 1 with x = 2 at the end
 * is forbidden (t2's x = 1 happens after x = 2, so it is coherence-later).
 * STRONG 0: all relaxed, which C11 allows. */
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

atomic_int x, y;
int r1;

static void *t1(void *arg)
{
    atomic_store_explicit(&x, 2, memory_order_relaxed);
    atomic_store_explicit(&y, 1, REL);
    return arg;
}

static void *t2(void *arg)
{
    r1 = atomic_load_explicit(&y, ACQ);
    atomic_store_explicit(&x, 1, memory_order_relaxed);
    return arg;
}

int main(void)
{
    pthread_t a, b;
    pthread_create(&a, NULL, t1, NULL);
    pthread_create(&b, NULL, t2, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    cfront_observe("r1", r1);
    cfront_observe("x", atomic_load_explicit(&x, memory_order_relaxed));
    return 0;
}
