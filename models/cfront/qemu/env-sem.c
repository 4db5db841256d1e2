/* QemuSemaphore for trees whose util/rcu.c uses one (Peter Xu's semaphore
 * drafts on force_rcu v1), written for this project (no QEMU code).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * QEMU implements QemuSemaphore in util/qemu-thread-posix.c, which cfront
 * does not compile (it is mostly thread creation, signals and error
 * reporting).  This is the same algorithm over the tree's own layout
 * (include/qemu/thread-posix.h: a QemuMutex, a QemuCond, an unsigned count),
 * as QEMU has had it since a0d45db854 and as rcu-core's port of it
 * (rcu-core/src/sem.rs): a post takes the mutex, counts, signals the
 * condition once; a wait sleeps on the condition while the count is 0 and
 * takes one; a timed wait computes one deadline (`ms` from now) and returns 0
 * when it took a post and -1 when the deadline passed first.  The mutex is
 * taken with the tree's qemu_mutex_lock() (env.c's function pointer, as
 * rcu.c's own locks); the condition is a pthread condition variable, which
 * cfront runs on rcu-core's QemuCond.
 *
 * Compiled into the program only when util/rcu.c declares a QemuSemaphore
 * (cfront::CTree::load). */
#include "qemu/osdep.h"
#include "qemu/thread.h"
#include "cfront.h"

void qemu_sem_init(QemuSemaphore *sem, int init)
{
    assert(init >= 0);
    qemu_mutex_init(&sem->mutex);
#ifdef CFRONT_NATIVE
    /* As QEMU's qemu_cond_init() where pthread_condattr_setclock() exists
     * (Linux): the condition's timed waits are on CLOCK_MONOTONIC, the clock
     * qemu_sem_timedwait() computes its deadline on.  With the default
     * (CLOCK_REALTIME) condition every natively compiled timed wait would
     * time out at once (measured: Peter Xu's drafts then forced all 1000 of
     * 1000 grace periods in `rcu-check bench`).  cfront's interpreter has one
     * clock, so it needs no attribute. */
    {
        pthread_condattr_t attr;

        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&sem->cond.cond, &attr);
        pthread_condattr_destroy(&attr);
    }
#else
    pthread_cond_init(&sem->cond.cond, NULL);
#endif
    sem->cond.initialized = true;
    sem->count = init;
}

void qemu_sem_destroy(QemuSemaphore *sem)
{
    pthread_cond_destroy(&sem->cond.cond);
    sem->cond.initialized = false;
    qemu_mutex_destroy(&sem->mutex);
}

void qemu_sem_post(QemuSemaphore *sem)
{
    qemu_mutex_lock(&sem->mutex);
    assert(sem->count != UINT_MAX);
    sem->count++;
    pthread_cond_signal(&sem->cond.cond);
    qemu_mutex_unlock(&sem->mutex);
}

int qemu_sem_timedwait(QemuSemaphore *sem, int ms)
{
    struct timespec deadline;
    int err = 0;

    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += ms / 1000;
    deadline.tv_nsec += (long)(ms % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }

    qemu_mutex_lock(&sem->mutex);
    while (sem->count == 0) {
        err = ms == 0 ? ETIMEDOUT
                      : pthread_cond_timedwait(&sem->cond.cond, &sem->mutex.lock, &deadline);
        if (err) {
            break;
        }
    }
    if (!err) {
        sem->count--;
    }
    qemu_mutex_unlock(&sem->mutex);
    return err ? -1 : 0;
}

void qemu_sem_wait(QemuSemaphore *sem)
{
    /* Harness scaffolding: where the stopping call_rcu thread exits. */
    cfront_idle_point(sem);

    qemu_mutex_lock(&sem->mutex);
    while (sem->count == 0) {
        pthread_cond_wait(&sem->cond.cond, &sem->mutex.lock);
    }
    sem->count--;
    qemu_mutex_unlock(&sem->mutex);
}
