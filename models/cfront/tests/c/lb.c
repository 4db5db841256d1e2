/* Load buffering (LB).  SPDX-License-Identifier: LGPL-2.1-or-later
 * t1: r1 = x; y = 1        t2: r2 = y; x = 1      (all relaxed)
 * C11 allows r1 = r2 = 1; loom 0.7.2 never produces it (a load reads only
 * stores already executed). */
#include <pthread.h>
#include <stdatomic.h>
#include "cfront.h"

atomic_int x, y;
int r1, r2;

static void *t1(void *arg)
{
    r1 = atomic_load_explicit(&x, memory_order_relaxed);
    atomic_store_explicit(&y, 1, memory_order_relaxed);
    return arg;
}

static void *t2(void *arg)
{
    r2 = atomic_load_explicit(&y, memory_order_relaxed);
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
    cfront_observe("r2", r2);
    return 0;
}
