/* cfront's stand-in for QEMU's qemu/main-loop.h, written for this project.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * util/rcu.c uses only the big QEMU lock from it; the environment
 * (qemu/env.c) implements the BQL as a mutex with a per-thread flag. */
#ifndef QEMU_MAIN_LOOP_H
#define QEMU_MAIN_LOOP_H

#include <stdbool.h>

bool bql_locked(void);
void bql_lock_impl(const char *file, int line);
#define bql_lock() bql_lock_impl(__FILE__, __LINE__)
void bql_unlock(void);

#endif
