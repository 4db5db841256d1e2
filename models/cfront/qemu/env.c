/* The QEMU environment of util/rcu.c, util/event.c and util/notify.c under
 * cfront, written for this project (no QEMU code).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Compiled with the same flags and include path as the tree's files, so that
 * it sees the tree's own types (QemuMutex, QemuThread, Notifier, rcu_head)
 * and the tree's own static inline functions (rcu_read_lock/unlock).
 *
 * Two parts:
 *  1. What QEMU's other files provide to RCU: qemu_mutex_* over pthread
 *     mutexes (as util/qemu-thread-posix.c, minus error reporting and
 *     tracing), the qemu_mutex_lock_func pointer, qemu_thread_create, the BQL,
 *     use_rt_clock, and pthread_atfork as a no-op (fork is not modelled).
 *  2. The harness API: entry points that Rust calls on the interpreted program
 *     (cfront::qemu::CRcu).  rcu_read_lock()/rcu_read_unlock() are static
 *     inline in qemu/rcu.h, so they are exported from here; call_rcu1() and
 *     force_rcu notifiers get C trampolines that call back into Rust by id.
 *
 * Nothing here adds a barrier or a lock to RCU: the BQL is the only lock, and
 * util/rcu.c takes it itself around its callbacks, as in QEMU. */
#include "qemu/osdep.h"
#include "qemu/thread.h"
#include "qemu/notify.h"
#include "qemu/rcu.h"
#include "qemu/main-loop.h"
#include "cfront.h"

/* ---- 1. QEMU's environment ------------------------------------------- */

void qemu_mutex_init(QemuMutex *mutex)
{
    pthread_mutex_init(&mutex->lock, NULL);
    mutex->initialized = true;
}

void qemu_mutex_destroy(QemuMutex *mutex)
{
    assert(mutex->initialized);
    mutex->initialized = false;
    pthread_mutex_destroy(&mutex->lock);
}

static void cfront_env_mutex_lock(QemuMutex *mutex, const char *file, int line)
{
    assert(mutex->initialized);
    pthread_mutex_lock(&mutex->lock);
}

void qemu_mutex_lock_impl(QemuMutex *mutex, const char *file, int line)
{
    cfront_env_mutex_lock(mutex, file, line);
}

/* QEMU points this at qemu_mutex_lock_impl unless lock profiling is on. */
QemuMutexLockFunc qemu_mutex_lock_func = cfront_env_mutex_lock;

void qemu_mutex_unlock_impl(QemuMutex *mutex, const char *file, int line)
{
    assert(mutex->initialized);
    pthread_mutex_unlock(&mutex->lock);
}

/* Detached or not, the thread is joined by the harness at the end of the
 * execution (cfront::Instance::join_threads). */
void qemu_thread_create(QemuThread *thread, const char *name,
                        void *(*start_routine)(void *), void *arg, int mode)
{
    cfront_thread_create(&thread->thread, name, start_routine, arg);
}

/* The big QEMU lock: a mutex and a per-thread "held" flag (QEMU's
 * bql_locked() reads a thread-local too). */
static pthread_mutex_t bql;
static __thread bool bql_held;

static void __attribute__((constructor(101))) cfront_env_init(void)
{
    pthread_mutex_init(&bql, NULL);
}

bool bql_locked(void)
{
    return bql_held;
}

void bql_lock_impl(const char *file, int line)
{
    assert(!bql_held);
    pthread_mutex_lock(&bql);
    bql_held = true;
}

void bql_unlock(void)
{
    assert(bql_held);
    bql_held = false;
    pthread_mutex_unlock(&bql);
}

/* init_get_clock() sets this where CLOCK_MONOTONIC works (it does here). */
int use_rt_clock = 1;

int pthread_atfork(void (*prepare)(void), void (*parent)(void),
                   void (*child)(void))
{
    return 0;
}

/* ---- 2. The harness API ----------------------------------------------- */

void cfront_rcu_read_lock(void)
{
    rcu_read_lock();
}

void cfront_rcu_read_unlock(void)
{
    rcu_read_unlock();
}

void cfront_bql_lock(void)
{
    bql_lock();
}

void cfront_bql_unlock(void)
{
    bql_unlock();
}

/* call_rcu1() with a Rust callback: the node carries the callback's id. */
struct cfront_rcu_node {
    struct rcu_head rcu;
    long id;
};

static void cfront_rcu_node_run(struct rcu_head *head)
{
    struct cfront_rcu_node *node = container_of(head, struct cfront_rcu_node, rcu);
    cfront_callback(node->id);
    free(node);
}

void cfront_call_rcu1(long id)
{
    struct cfront_rcu_node *node = malloc(sizeof(*node));
    node->id = id;
    call_rcu1(&node->rcu, cfront_rcu_node_run);
}

/* A force_rcu notifier of the calling thread, running a Rust closure. */
struct cfront_notifier {
    Notifier notifier;
    long id;
};

static void cfront_notifier_run(Notifier *n, void *data)
{
    cfront_notify(container_of(n, struct cfront_notifier, notifier)->id);
}

void *cfront_add_force_rcu_notifier(long id)
{
    struct cfront_notifier *n = malloc(sizeof(*n));
    n->notifier.notify = cfront_notifier_run;
    n->id = id;
    rcu_add_force_rcu_notifier(&n->notifier);
    return n;
}

void cfront_remove_force_rcu_notifier(void *p)
{
    struct cfront_notifier *n = p;
    rcu_remove_force_rcu_notifier(&n->notifier);
    free(n);
}

/* Layouts the harness reads without calling in (cfront::qemu's windows and
 * registry view): offsets into the tree's own structures. */
const unsigned long cfront_off_reader_node = offsetof(struct rcu_reader_data, node);
const unsigned long cfront_off_reader_waiting = offsetof(struct rcu_reader_data, waiting);
const unsigned long cfront_off_event_value = offsetof(QemuEvent, value);
