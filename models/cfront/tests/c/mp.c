/* Message passing (MP).  SPDX-License-Identifier: LGPL-2.1-or-later
 * writer: data = 1; flag = 1       reader: r1 = flag; r2 = data
 * ORD 0: all relaxed (r1=1 r2=0 allowed)
 * ORD 1: release store / acquire load of flag (forbidden)
 * ORD 2: relaxed accesses with a release fence / an acquire fence (forbidden) */
#include <pthread.h>
#include <stdatomic.h>
#include "cfront.h"

#ifndef ORD
#define ORD 0
#endif

atomic_int data, flag;

static void *writer(void *arg)
{
    atomic_store_explicit(&data, 1, memory_order_relaxed);
#if ORD == 1
    atomic_store_explicit(&flag, 1, memory_order_release);
#elif ORD == 2
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&flag, 1, memory_order_relaxed);
#else
    atomic_store_explicit(&flag, 1, memory_order_relaxed);
#endif
    return arg;
}

int main(void)
{
    pthread_t w;
    int r1, r2;
    pthread_create(&w, NULL, writer, NULL);
#if ORD == 1
    r1 = atomic_load_explicit(&flag, memory_order_acquire);
#else
    r1 = atomic_load_explicit(&flag, memory_order_relaxed);
#endif
#if ORD == 2
    atomic_thread_fence(memory_order_acquire);
#endif
    r2 = atomic_load_explicit(&data, memory_order_relaxed);
    pthread_join(w, NULL);
    cfront_observe("r1", r1);
    cfront_observe("r2", r2);
    return 0;
}
