/* A one-shot event on a futex, as QEMU's QemuEvent sleeps: the waiter
 * sleeps while the word is 0; the setter stores 1 and (WAKE 1) wakes it.
 * WAKE 0: the setter forgets the wake-up, a lost wake-up (deadlock).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "cfront.h"

#ifndef WAKE
#define WAKE 1
#endif

static atomic_uint word;

static void *waiter(void *arg)
{
    while (atomic_load_explicit(&word, memory_order_acquire) == 0) {
        if (syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0) < 0 &&
            errno != EAGAIN && errno != EINTR) {
            abort();
        }
    }
    return arg;
}

int main(void)
{
    pthread_t w;
    pthread_create(&w, NULL, waiter, NULL);
    atomic_store_explicit(&word, 1, memory_order_release);
#if WAKE
    syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
#endif
    pthread_join(w, NULL);
    cfront_observe("word", word);
    return 0;
}
