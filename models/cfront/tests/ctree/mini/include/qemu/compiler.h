/* Mini QEMU-style tree for cfront's tests.  SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef MINI_COMPILER_H
#define MINI_COMPILER_H
#endif
