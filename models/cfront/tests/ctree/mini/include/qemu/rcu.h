/* Mini QEMU-style tree for cfront's tests.  SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef MINI_RCU_H
#define MINI_RCU_H
#include "qemu/notify.h"

struct rcu_reader_data {
    unsigned long ctr;              /* 0: quiescent; else the gp_ctr it saw */
    bool waiting;                   /* as QEMU's (unused here) */
    NotifierList force_rcu;
    struct {                        /* registry, under rcu_registry_lock; */
        struct rcu_reader_data *le_next;    /* laid out as QEMU's QLIST_ENTRY */
    } node;
    unsigned depth;                 /* nesting, as QEMU's (only its thread) */
};
extern __thread struct rcu_reader_data rcu_reader;
extern unsigned long rcu_gp_ctr;

static inline void rcu_read_lock(void)
{
    if (rcu_reader.depth++ > 0) {
        return;
    }
    __atomic_store_n(&rcu_reader.ctr, __atomic_load_n(&rcu_gp_ctr, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static inline void rcu_read_unlock(void)
{
    if (--rcu_reader.depth > 0) {
        return;
    }
    __atomic_store_n(&rcu_reader.ctr, 0, __ATOMIC_RELEASE);
}

struct rcu_head {
    struct rcu_head *next;
    void (*func)(struct rcu_head *head);
};

void rcu_register_thread(void);
void rcu_unregister_thread(void);
void synchronize_rcu(void);
void call_rcu1(struct rcu_head *head, void (*func)(struct rcu_head *head));
void drain_call_rcu(void);
void rcu_add_force_rcu_notifier(Notifier *n);
void rcu_remove_force_rcu_notifier(Notifier *n);
#endif
