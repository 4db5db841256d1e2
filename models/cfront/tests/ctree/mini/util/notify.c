/* Mini QEMU-style tree for cfront's tests.  SPDX-License-Identifier: LGPL-2.1-or-later */
#include "qemu/osdep.h"
#include "qemu/notify.h"

void notifier_list_add(NotifierList *list, Notifier *n)
{
    n->next = list->head;
    list->head = n;
}

void notifier_list_remove(NotifierList *list, Notifier *n)
{
    for (Notifier **p = &list->head; *p; p = &(*p)->next) {
        if (*p == n) {
            *p = n->next;
            return;
        }
    }
}

void notifier_list_notify(NotifierList *list, void *data)
{
    for (Notifier *n = list->head; n; n = n->next) {
        n->notify(n, data);
    }
}
