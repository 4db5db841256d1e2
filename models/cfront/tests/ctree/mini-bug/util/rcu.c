/* The mini tree with the positive-control bug: synchronize_rcu() does not
 * wait for readers.  SPDX-License-Identifier: LGPL-2.1-or-later */
#define MINI_BUG 1
#include "../../mini/util/rcu.c"
