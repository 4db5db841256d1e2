/* A small program using most of what the interpreter supports: threads,
 * a Treiber stack pushed with compare-exchange, thread-locals, calloc/free,
 * a call through a function pointer, a switch, and assert().
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "cfront.h"

#ifndef NTHREADS
#define NTHREADS 2
#endif
#ifndef PUSHES
#define PUSHES 2
#endif

struct item {
    long v;
    struct item *next;
};

struct item *_Atomic top;
atomic_long total;
static _Thread_local long mine;

static long twice(long x) { return 2 * x; }
static long thrice(long x) { return 3 * x; }
static long (*const ops[])(long) = { twice, thrice };

static long kind(long v)
{
    switch (v % 4) {
    case 0: return 10;
    case 1: return 20;
    case 3: return 30;
    default: return 40;
    }
}

/* LOST_UPDATE: a load-then-store push, which loses concurrent pushes
 * (the positive control of the final assert()s). */
static void push(long v)
{
    struct item *it = calloc(1, sizeof(*it));
    it->v = v;
    struct item *old = atomic_load_explicit(&top, memory_order_relaxed);
#ifdef LOST_UPDATE
    it->next = old;
    atomic_store_explicit(&top, it, memory_order_release);
#else
    do {
        it->next = old;
    } while (!atomic_compare_exchange_weak_explicit(&top, &old, it, memory_order_release,
                                                    memory_order_relaxed));
#endif
}

static void *worker(void *arg)
{
    long id = (long)arg;
    for (int i = 0; i < PUSHES; i++) {
        long v = ops[i & 1](id * 10 + i);
        mine += v;
        push(v);
    }
    atomic_fetch_add_explicit(&total, mine, memory_order_relaxed);
    return (void *)mine;
}

int main(void)
{
    pthread_t t[NTHREADS];
    long expect = 0, got = 0, n = 0, sum = 0;
    char buf[16];
    memset(buf, 0, sizeof(buf));
    for (long i = 0; i < NTHREADS; i++) {
        pthread_create(&t[i], NULL, worker, (void *)(i + 1));
    }
    for (long i = 0; i < NTHREADS; i++) {
        void *r;
        pthread_join(t[i], &r);
        expect += (long)r;
    }
    assert(mine == 0);
    struct item *it = atomic_load_explicit(&top, memory_order_acquire);
    while (it) {
        struct item *next = it->next;
        got += it->v;
        sum += kind(it->v);
        n++;
        free(it);
        it = next;
    }
    assert(got == expect);
    assert(atomic_load_explicit(&total, memory_order_relaxed) == expect);
    cfront_observe("n", n);
    cfront_observe("total", got);
    cfront_observe("kinds", sum + buf[3]);
    return 0;
}
