/* The shape of QEMU's grace period, reduced: the reader reads the object
 * inside its critical section, then ends it with a release store of ctr = 0;
 * the updater sees ctr == 0 with a *relaxed* load after a seq_cst fence (as
 * wait_for_readers() does) and frees the object.  C11 gives no
 * happens-before from the reader's read to the free (no acquire after the
 * load); QEMU relies on load->store ordering.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include "cfront.h"

struct obj {
    long v;
};

static struct obj *_Atomic ptr;
static atomic_long ctr;

static void *reader(void *arg)
{
    struct obj *o = atomic_load_explicit(&ptr, memory_order_acquire);
    cfront_observe("v", o->v);
    atomic_store_explicit(&ctr, 0, memory_order_release);
    return arg;
}

int main(void)
{
    pthread_t r;
    struct obj *o = malloc(sizeof(*o));
    o->v = 1;
    atomic_store_explicit(&ctr, 1, memory_order_relaxed);
    atomic_store_explicit(&ptr, o, memory_order_release);
    pthread_create(&r, NULL, reader, NULL);
    atomic_thread_fence(memory_order_seq_cst);
    while (atomic_load_explicit(&ctr, memory_order_relaxed) != 0) {
        cfront_yield();
    }
    free(o);
    pthread_join(r, NULL);
    return 0;
}
