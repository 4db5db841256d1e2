/* A plain counter under a pthread mutex (LOCKED 1) or not (LOCKED 0).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <pthread.h>
#include "cfront.h"

#ifndef LOCKED
#define LOCKED 1
#endif

static pthread_mutex_t lock;
static long counter;

static void *inc(void *arg)
{
#if LOCKED
    pthread_mutex_lock(&lock);
#endif
    counter++;
#if LOCKED
    pthread_mutex_unlock(&lock);
#endif
    return arg;
}

int main(void)
{
    pthread_t a, b;
    pthread_mutex_init(&lock, NULL);
    pthread_create(&a, NULL, inc, NULL);
    pthread_create(&b, NULL, inc, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    cfront_observe("counter", counter);
    return 0;
}
