/* The environment that cfront's interpreter provides to C programs.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Besides these, the interpreter implements: malloc, calloc, free,
 * pthread_create, pthread_join, pthread_mutex_{init,lock,unlock,destroy},
 * syscall(SYS_futex, ...) (FUTEX_WAIT without timeout, FUTEX_WAKE), errno,
 * sched_yield, g_usleep/usleep (no time under loom and shuttle), abort and
 * assert() (__assert_fail).  Any other undefined function is an error when
 * called. */
#ifndef CFRONT_H
#define CFRONT_H

/* Record `value` under `name` in this execution's outcome
 * (e.g. "r1=0 r2=1"); name must be a string constant. */
void cfront_observe(const char *name, long value);

/* A scheduling hint: put it in every spin loop (loom and shuttle need one). */
void cfront_yield(void);

#endif
