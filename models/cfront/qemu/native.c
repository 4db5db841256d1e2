/* cfront's harness intrinsics (include/cfront.h) for a natively compiled
 * tree, written for this project (no QEMU code).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Under the interpreter, cfront_thread_create(), cfront_callback() and
 * cfront_notify() are implemented by cfront itself.  A tree compiled to a
 * shared object (cfront::native) gets them from here: threads are real
 * pthreads, futexes are the kernel's (util/event.c calls syscall(SYS_futex)
 * itself), and the two callbacks call into Rust through function pointers
 * that cfront::native sets right after dlopen().  rcu_init() (a constructor)
 * runs inside dlopen(), before those pointers are set; it only creates the
 * call_rcu thread, which calls back into Rust only for a callback queued
 * after the pointers are set. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include "cfront.h"

/* Set by cfront::native (release) before any call_rcu1() or notifier. */
void (*cfront_native_callback)(void *ctx, long id);
void (*cfront_native_notify)(void *ctx, long id);
void *cfront_native_ctx;

void cfront_observe(const char *name, long value)
{
    (void)name;
    (void)value;
}

void cfront_yield(void)
{
    sched_yield();
}

/* QEMU's qemu_thread_create(): a named pthread.  Detached, as util/rcu.c
 * asks for its call_rcu thread (QEMU_THREAD_DETACHED): nobody joins it. */
void cfront_thread_create(pthread_t *thread, const char *name,
                          void *(*start)(void *), void *arg)
{
    char short_name[16];

    if (pthread_create(thread, NULL, start, arg) != 0) {
        abort();
    }
    strncpy(short_name, name, sizeof(short_name) - 1);
    short_name[sizeof(short_name) - 1] = 0;
    pthread_setname_np(*thread, short_name);
    pthread_detach(*thread);
}

/* The interpreter's stop point for an idle call_rcu thread (harness
 * scaffolding): natively nothing stops, QEMU never stops that thread. */
void cfront_idle_point(const void *object)
{
    (void)object;
}

void cfront_callback(long id)
{
    __atomic_load_n(&cfront_native_callback, __ATOMIC_ACQUIRE)(
        __atomic_load_n(&cfront_native_ctx, __ATOMIC_ACQUIRE), id);
}

void cfront_notify(long id)
{
    __atomic_load_n(&cfront_native_notify, __ATOMIC_ACQUIRE)(
        __atomic_load_n(&cfront_native_ctx, __ATOMIC_ACQUIRE), id);
}
