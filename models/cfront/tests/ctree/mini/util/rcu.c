/* Mini QEMU-style tree for cfront's tests: a grace-period counter, readers
 * polled under a registry lock, and a call_rcu thread fed by a locked list.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "qemu/osdep.h"
#include "qemu/rcu.h"
#include "qemu/thread.h"
#include "qemu/main-loop.h"

unsigned long rcu_gp_ctr = 1;
__thread struct rcu_reader_data rcu_reader;
static struct rcu_reader_data *registry;
static QemuMutex rcu_registry_lock;
static QemuMutex rcu_call_lock;
static struct rcu_head *rcu_call_list;
static QemuEvent rcu_call_ready_event;

/* As QEMU's: a reader is in an older critical section. */
static inline int rcu_gp_ongoing(unsigned long *ctr)
{
    unsigned long v = __atomic_load_n(ctr, __ATOMIC_ACQUIRE);
    return v && v != rcu_gp_ctr;
}

/* Poll every registered reader until it left its older critical section. */
static void wait_for_readers(void)
{
#ifndef MINI_BUG
    for (struct rcu_reader_data *r = registry; r; r = r->node.le_next) {
        while (rcu_gp_ongoing(&r->ctr)) {
            notifier_list_notify(&r->force_rcu, NULL);
            sched_yield();
        }
    }
#endif
}

void synchronize_rcu(void)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    qemu_mutex_lock(&rcu_registry_lock);
    __atomic_store_n(&rcu_gp_ctr, rcu_gp_ctr + 2, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    wait_for_readers();
    qemu_mutex_unlock(&rcu_registry_lock);
}

void call_rcu1(struct rcu_head *head, void (*func)(struct rcu_head *head))
{
    head->func = func;
    qemu_mutex_lock(&rcu_call_lock);
    head->next = rcu_call_list;
    rcu_call_list = head;
    qemu_mutex_unlock(&rcu_call_lock);
    qemu_event_set(&rcu_call_ready_event);
}

static void *call_rcu_thread(void *opaque)
{
    rcu_register_thread();
    for (;;) {
        qemu_event_reset(&rcu_call_ready_event);
        qemu_mutex_lock(&rcu_call_lock);
        struct rcu_head *list = rcu_call_list;
        rcu_call_list = NULL;
        qemu_mutex_unlock(&rcu_call_lock);
        if (!list) {
            qemu_event_wait(&rcu_call_ready_event);
            continue;
        }
        /* Callbacks run in the order they were queued. */
        struct rcu_head *fifo = NULL;
        while (list) {
            struct rcu_head *next = list->next;
            list->next = fifo;
            fifo = list;
            list = next;
        }
        list = fifo;
        synchronize_rcu();
        bql_lock();
        while (list) {
            struct rcu_head *next = list->next;
            list->func(list);
            list = next;
        }
        bql_unlock();
    }
    return NULL;
}

struct drain {
    struct rcu_head rcu;
    QemuEvent done;
};

static void drain_done(struct rcu_head *head)
{
    qemu_event_set(&((struct drain *)head)->done);
}

void drain_call_rcu(void)
{
    struct drain d;
    qemu_event_init(&d.done, false);
    call_rcu1(&d.rcu, drain_done);
    qemu_event_wait(&d.done);
}

void rcu_register_thread(void)
{
    qemu_mutex_lock(&rcu_registry_lock);
    rcu_reader.node.le_next = registry;
    registry = &rcu_reader;
    qemu_mutex_unlock(&rcu_registry_lock);
}

void rcu_unregister_thread(void)
{
    qemu_mutex_lock(&rcu_registry_lock);
    for (struct rcu_reader_data **p = &registry; *p; p = &(*p)->node.le_next) {
        if (*p == &rcu_reader) {
            *p = rcu_reader.node.le_next;
            break;
        }
    }
    qemu_mutex_unlock(&rcu_registry_lock);
}

void rcu_add_force_rcu_notifier(Notifier *n)
{
    qemu_mutex_lock(&rcu_registry_lock);
    notifier_list_add(&rcu_reader.force_rcu, n);
    qemu_mutex_unlock(&rcu_registry_lock);
}

void rcu_remove_force_rcu_notifier(Notifier *n)
{
    qemu_mutex_lock(&rcu_registry_lock);
    notifier_list_remove(&rcu_reader.force_rcu, n);
    qemu_mutex_unlock(&rcu_registry_lock);
}

static void __attribute__((constructor)) rcu_init(void)
{
    QemuThread thread;

    qemu_mutex_init(&rcu_registry_lock);
    qemu_mutex_init(&rcu_call_lock);
    qemu_event_init(&rcu_call_ready_event, false);
    qemu_thread_create(&thread, "call_rcu", call_rcu_thread, NULL, QEMU_THREAD_DETACHED);
    rcu_register_thread();
}
