/* Mini QEMU-style tree for cfront's tests: an event over a futex (0 free,
 * 1 set).  SPDX-License-Identifier: LGPL-2.1-or-later */
#include "qemu/osdep.h"
#include "qemu/thread.h"
#include <linux/futex.h>

void qemu_event_init(QemuEvent *ev, bool init)
{
    ev->value = init;
}

void qemu_event_set(QemuEvent *ev)
{
    if (__atomic_exchange_n(&ev->value, 1, __ATOMIC_SEQ_CST) == 0) {
        syscall(SYS_futex, &ev->value, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
    }
}

/* An exchange, not a store: loom orders a store after a concurrent
 * exchange lazily, and then lets a later exchange read the value the store
 * overwrote (C11 forbids it: the two exchanges are adjacent in modification
 * order); with read-modify-writes on both sides it cannot.  Measured: with a
 * store here, loom reports a lost wake-up in mini_force_rcu_notifiers_and_drain
 * that C11 does not allow.  QEMU's reset is a qatomic_or(). */
void qemu_event_reset(QemuEvent *ev)
{
    __atomic_exchange_n(&ev->value, 0, __ATOMIC_SEQ_CST);
}

void qemu_event_wait(QemuEvent *ev)
{
    while (__atomic_load_n(&ev->value, __ATOMIC_ACQUIRE) == 0) {
        syscall(SYS_futex, &ev->value, FUTEX_WAIT, 0, NULL, NULL, 0);
    }
}
