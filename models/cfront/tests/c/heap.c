/* Heap controls.  SPDX-License-Identifier: LGPL-2.1-or-later
 * MODE 1: use after free (one thread)     MODE 2: double free
 * MODE 3: an unpublish-then-free without waiting for the reader (two threads):
 *         the reader may still dereference the old node.
 * MODE 0: as 3, but the writer joins the reader before freeing (correct). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include "cfront.h"

#ifndef MODE
#define MODE 0
#endif

struct node {
    int val;
    struct node *next;
};

struct node *_Atomic head;
struct node *saved; /* makes the block escape, so -O2 keeps every access */

static void *reader(void *arg)
{
    struct node *n = atomic_load_explicit(&head, memory_order_acquire);
    if (n) {
        cfront_observe("val", n->val);
    }
    return arg;
}

int main(void)
{
    struct node *n = malloc(sizeof(*n));
    n->val = 7;
    n->next = NULL;
    saved = n;
#if MODE == 1
    free(n);
    return saved->val;
#elif MODE == 2
    free(n);
    free(saved);
    return 0;
#else
    pthread_t r;
    atomic_store_explicit(&head, n, memory_order_release);
    pthread_create(&r, NULL, reader, NULL);
    atomic_store_explicit(&head, NULL, memory_order_release);
#if MODE == 0
    pthread_join(r, NULL);
    free(n);
#else
    free(n);
    pthread_join(r, NULL);
#endif
    return 0;
#endif
}
