/* Store buffering (SB).  SPDX-License-Identifier: LGPL-2.1-or-later
 * t1: x = 1; [F]; r1 = y      t2: y = 1; [F]; r2 = x
 * FENCE selects the fence between each store and load:
 * 0 none, 1 seq_cst, 2 acq_rel.  r1 = r2 = 0 is forbidden only with seq_cst. */
#include <pthread.h>
#include <stdatomic.h>
#include "cfront.h"

#ifndef FENCE
#define FENCE 0
#endif

atomic_int x, y;
int r1, r2;

static void fence(void)
{
#if FENCE == 1
    atomic_thread_fence(memory_order_seq_cst);
#elif FENCE == 2
    atomic_thread_fence(memory_order_acq_rel);
#endif
}

static void *t1(void *arg)
{
    atomic_store_explicit(&x, 1, memory_order_relaxed);
    fence();
    r1 = atomic_load_explicit(&y, memory_order_relaxed);
    return arg;
}

static void *t2(void *arg)
{
    atomic_store_explicit(&y, 1, memory_order_relaxed);
    fence();
    r2 = atomic_load_explicit(&x, memory_order_relaxed);
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
