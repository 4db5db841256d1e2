//! `Notifier` / `NotifierList` (include/qemu/notify.h, util/notify.c): a list
//! of callbacks.  The lists themselves have no lock; in util/rcu.c each
//! reader's force_rcu list is protected by rcu_registry_lock, so the models
//! keep them inside a [`crate::mutex::Guarded`].

use std::fmt;
use std::sync::Arc;

/// A `Notifier`: `notify(notifier, data)`.  Identity is `id` (the address in C).
#[derive(Clone)]
pub struct Notifier {
    /// Identity (the C struct's address).
    pub id: u64,
    /// For traces.
    pub name: String,
    /// `notifier->notify`.
    pub notify: Arc<dyn Fn() + Send + Sync>,
}

impl fmt::Debug for Notifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Notifier({})", self.name)
    }
}

/// `NotifierList`.
#[derive(Clone, Debug, Default)]
pub struct NotifierList {
    notifiers: Vec<Notifier>,
}

impl NotifierList {
    /// `notifier_list_add()`: QLIST_INSERT_HEAD.
    pub fn notifier_list_add(&mut self, n: Notifier) {
        self.notifiers.insert(0, n);
    }

    /// `notifier_remove()`: QLIST_REMOVE of `n` from this list.  Returns false
    /// if it was not on it (removing an unlinked QLIST node is undefined in C).
    pub fn notifier_remove(&mut self, id: u64) -> bool {
        match self.notifiers.iter().position(|n| n.id == id) {
            Some(i) => {
                self.notifiers.remove(i);
                true
            }
            None => false,
        }
    }

    /// The notifiers `notifier_list_notify()` would call, in order.  The caller
    /// calls them (`QLIST_FOREACH_SAFE`: the list may change under a callback).
    pub fn snapshot(&self) -> Vec<Notifier> {
        self.notifiers.clone()
    }

    /// Number of notifiers.
    pub fn len(&self) -> usize {
        self.notifiers.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.notifiers.is_empty()
    }
}
