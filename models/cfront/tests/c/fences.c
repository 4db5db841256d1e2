/* Every ordering of every kind of atomic instruction, in a known order.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdatomic.h>

atomic_int v;

/* Adjacent fences may be merged by -O2 (acquire; release; seq_cst is one
 * seq_cst fence), so an access separates each pair. */
#define SEP(n) atomic_store_explicit(&v, n, memory_order_relaxed)

void fences(void)
{
    atomic_thread_fence(memory_order_acquire);
    SEP(1);
    atomic_thread_fence(memory_order_release);
    SEP(2);
    atomic_thread_fence(memory_order_acq_rel);
    SEP(3);
    atomic_thread_fence(memory_order_seq_cst);
    SEP(4);
    atomic_signal_fence(memory_order_seq_cst);
    SEP(5);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    SEP(6);
    atomic_thread_fence(memory_order_consume);
}

int accesses(void)
{
    int e = 0, r = 0;
    atomic_store_explicit(&v, 1, memory_order_relaxed);
    atomic_store_explicit(&v, 2, memory_order_release);
    atomic_store_explicit(&v, 3, memory_order_seq_cst);
    r += atomic_load_explicit(&v, memory_order_relaxed);
    r += atomic_load_explicit(&v, memory_order_acquire);
    r += atomic_load_explicit(&v, memory_order_seq_cst);
    r += atomic_fetch_add_explicit(&v, 1, memory_order_relaxed);
    r += atomic_fetch_sub_explicit(&v, 1, memory_order_acq_rel);
    r += atomic_exchange_explicit(&v, 5, memory_order_seq_cst);
    r += atomic_compare_exchange_strong_explicit(&v, &e, 1, memory_order_acq_rel, memory_order_acquire);
    return r;
}
