/* Every ordering of every kind of atomic instruction, in a known order.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdatomic.h>

atomic_int v;

void fences(void)
{
    atomic_thread_fence(memory_order_acquire);
    atomic_thread_fence(memory_order_release);
    atomic_thread_fence(memory_order_acq_rel);
    atomic_thread_fence(memory_order_seq_cst);
    atomic_signal_fence(memory_order_seq_cst);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
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
