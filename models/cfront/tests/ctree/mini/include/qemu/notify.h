/* Mini QEMU-style tree for cfront's tests.  SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef MINI_NOTIFY_H
#define MINI_NOTIFY_H
typedef struct Notifier Notifier;
struct Notifier {
    void (*notify)(Notifier *n, void *data);
    Notifier *next;
};
typedef struct NotifierList { Notifier *head; } NotifierList;
void notifier_list_add(NotifierList *list, Notifier *n);
void notifier_list_remove(NotifierList *list, Notifier *n);
void notifier_list_notify(NotifierList *list, void *data);
#endif
