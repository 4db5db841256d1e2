/* Data-race control.  SPDX-License-Identifier: LGPL-2.1-or-later
 * writer: data = 42 (plain); flag = 1     reader: if (flag) r = data (plain)
 * SYNC 0: flag relaxed: the plain accesses to data race (loom must say so).
 * SYNC 1: flag release/acquire: no race. */
#include <pthread.h>
#include <stdatomic.h>
#include "cfront.h"

#ifndef SYNC
#define SYNC 0
#endif
#if SYNC
#define REL memory_order_release
#define ACQ memory_order_acquire
#else
#define REL memory_order_relaxed
#define ACQ memory_order_relaxed
#endif

int data;
atomic_int flag;

static void *writer(void *arg)
{
    data = 42;
    atomic_store_explicit(&flag, 1, REL);
    return arg;
}

int main(void)
{
    pthread_t w;
    int r = -1;
    pthread_create(&w, NULL, writer, NULL);
    if (atomic_load_explicit(&flag, ACQ)) {
        r = data;
    }
    pthread_join(w, NULL);
    cfront_observe("r", r);
    return 0;
}
