/* cfront's stand-in for QEMU's qemu/osdep.h, written for this project.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * QEMU's own osdep.h needs meson-generated headers (config-host.h, qapi) and
 * pulls in QOM.  util/rcu.c, util/event.c and util/notify.c need from it only
 * the C library, glib, and a handful of macros, declared here.  Everything
 * that decides RCU's behaviour (qemu/rcu.h, atomic.h, thread.h, futex.h,
 * queue.h, notify.h, coroutine-tls.h, lockable.h) stays the tree's own. */
#ifndef QEMU_OSDEP_H
#define QEMU_OSDEP_H

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <glib.h>

#include "qemu/compiler.h"
#include "qemu/typedefs.h"

#ifndef container_of
#define container_of(ptr, type, member) ({                      \
        const typeof(((type *) 0)->member) *__mptr = (ptr);     \
        (type *) ((char *) __mptr - offsetof(type, member)); })
#endif
#define typeof_field(type, field) typeof(((type *)0)->field)

#define QEMU_BUILD_BUG_MSG(x, msg) _Static_assert(!(x), msg)
#define QEMU_BUILD_BUG_ON(x) QEMU_BUILD_BUG_MSG(x, "not expecting: " #x)
#define qemu_build_assert(test) do { _Static_assert(test, #test); } while (0)

/* A path the optimiser must prove dead: when it survives -O2, the call
 * stays in the IR and Program::undefined_functions() names it. */
G_NORETURN void qemu_build_not_reached_always(void);
#define qemu_build_not_reached() qemu_build_not_reached_always()

/* Coroutine annotations: only a static checker reads them. */
#define coroutine_fn
#define coroutine_mixed_fn
#define no_coroutine_fn

#ifndef MIN
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#endif
#ifndef MAX
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#endif
#ifndef ARRAY_SIZE
#define ARRAY_SIZE(x) (sizeof(x) / sizeof((x)[0]))
#endif

#endif
