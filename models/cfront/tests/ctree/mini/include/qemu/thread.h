/* Mini QEMU-style tree for cfront's tests.  SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef MINI_THREAD_H
#define MINI_THREAD_H
#include <pthread.h>
#include <stdbool.h>

struct QemuMutex { pthread_mutex_t lock; bool initialized; };
struct QemuThread { pthread_t thread; };
struct QemuEvent { unsigned value; };

typedef void (*QemuMutexLockFunc)(QemuMutex *m, const char *f, int l);
extern QemuMutexLockFunc qemu_mutex_lock_func;
void qemu_mutex_init(QemuMutex *m);
void qemu_mutex_unlock_impl(QemuMutex *m, const char *f, int l);
#define qemu_mutex_lock(m) __atomic_load_n(&qemu_mutex_lock_func, __ATOMIC_RELAXED)(m, __FILE__, __LINE__)
#define qemu_mutex_unlock(m) qemu_mutex_unlock_impl(m, __FILE__, __LINE__)

#define QEMU_THREAD_DETACHED 1
void qemu_thread_create(QemuThread *t, const char *name, void *(*fn)(void *), void *arg, int mode);

void qemu_event_init(QemuEvent *ev, bool init);
void qemu_event_set(QemuEvent *ev);
void qemu_event_reset(QemuEvent *ev);
void qemu_event_wait(QemuEvent *ev);
#endif
