/* IRIW: independent reads of independent writes.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 * t1: x = 1    t2: y = 1    t3: r1 = x; [F]; r2 = y    t4: r3 = y; [F]; r4 = x
 * MODE 0: relaxed loads, no fence: r1=1 r2=0 r3=1 r4=0 allowed.
 * MODE 1: relaxed accesses, seq_cst fences between the loads: forbidden.
 * MODE 2: seq_cst stores and loads, no fence: forbidden by C11, but loom
 *         treats a SeqCst access as AcqRel (rcu-core platform docs). */
#include <pthread.h>
#include <stdatomic.h>
#include "cfront.h"

#ifndef MODE
#define MODE 0
#endif
#if MODE == 2
#define ORD memory_order_seq_cst
#else
#define ORD memory_order_relaxed
#endif

atomic_int x, y;
int r1, r2, r3, r4;

static void fence(void)
{
#if MODE == 1
    atomic_thread_fence(memory_order_seq_cst);
#endif
}

static void *w1(void *arg)
{
    atomic_store_explicit(&x, 1, ORD);
    return arg;
}

static void *w2(void *arg)
{
    atomic_store_explicit(&y, 1, ORD);
    return arg;
}

static void *rd1(void *arg)
{
    r1 = atomic_load_explicit(&x, ORD);
    fence();
    r2 = atomic_load_explicit(&y, ORD);
    return arg;
}

static void *rd2(void *arg)
{
    r3 = atomic_load_explicit(&y, ORD);
    fence();
    r4 = atomic_load_explicit(&x, ORD);
    return arg;
}

int main(void)
{
    pthread_t a, b, c, d;
    pthread_create(&a, NULL, w1, NULL);
    pthread_create(&b, NULL, w2, NULL);
    pthread_create(&c, NULL, rd1, NULL);
    pthread_create(&d, NULL, rd2, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    pthread_join(c, NULL);
    pthread_join(d, NULL);
    cfront_observe("r1", r1);
    cfront_observe("r2", r2);
    cfront_observe("r3", r3);
    cfront_observe("r4", r4);
    return 0;
}
