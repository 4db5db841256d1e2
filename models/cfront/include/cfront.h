/* The environment that cfront's interpreter provides to C programs.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Besides these, the interpreter implements: malloc, calloc, free,
 * pthread_create, pthread_join, pthread_mutex_{init,lock,unlock,destroy},
 * pthread_cond_{init,destroy,wait,timedwait,signal,broadcast} (no attributes;
 * a timed wait's deadline is on clock_gettime()'s clock),
 * syscall(SYS_futex, ...) (FUTEX_WAIT, FUTEX_WAIT_BITSET with a deadline,
 * FUTEX_WAKE), errno, pthread_exit, clock_gettime/gettimeofday (a clock that
 * stands still under loom and shuttle), sched_yield, g_usleep/usleep (no time
 * under loom and shuttle), abort and assert() (__assert_fail).  Any other
 * undefined function is an error when called. */
#ifndef CFRONT_H
#define CFRONT_H

/* Record `value` under `name` in this execution's outcome
 * (e.g. "r1=0 r2=1"); name must be a string constant. */
void cfront_observe(const char *name, long value);

/* A scheduling hint: put it in every spin loop (loom and shuttle need one). */
void cfront_yield(void);

/* pthread_create() with a thread name (QEMU's qemu_thread_create()). */
#include <pthread.h>
void cfront_thread_create(pthread_t *thread, const char *name,
                          void *(*start)(void *), void *arg);

/* Run the Rust closure registered under `id` (cfront::Instance::callback);
 * each id runs once. */
void cfront_callback(long id);

/* Run the Rust closure registered under `id` (cfront::Instance::notifier);
 * it may run any number of times. */
void cfront_notify(long id);

/* Harness scaffolding: a point where the thread that cfront::Instance::stop_at
 * names may exit, once asked to stop, when `object` is its idle object (a
 * QemuSemaphore's wait, which sleeps on a condition variable, not a futex). */
void cfront_idle_point(const void *object);

#endif
