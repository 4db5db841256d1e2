/* A bounded poll loop with g_usleep, as util/rcu.c's wait loops do.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <pthread.h>
#include <stdatomic.h>
#include "cfront.h"

void g_usleep(unsigned long us);

static atomic_int flag;

static void *setter(void *arg)
{
    atomic_store_explicit(&flag, 1, memory_order_release);
    return arg;
}

int main(void)
{
    pthread_t t;
    int tries = 0;
    pthread_create(&t, NULL, setter, NULL);
    while (!atomic_load_explicit(&flag, memory_order_acquire) && tries < 3) {
        g_usleep(10);
        tries++;
    }
    pthread_join(t, NULL);
    cfront_observe("gave_up", tries == 3);
    return 0;
}
