/* Mini QEMU-style tree for cfront's tests.  SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef MINI_TYPEDEFS_H
#define MINI_TYPEDEFS_H
typedef struct QemuMutex QemuMutex;
typedef struct QemuThread QemuThread;
typedef struct QemuEvent QemuEvent;
#endif
