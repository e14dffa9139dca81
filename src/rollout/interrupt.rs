//! Ctrl-C during a rollout. The handler is installed when the rollout starts, so an interrupt at
//! any moment is seen: before the first change it aborts cleanly, during the wait it triggers the
//! rollback, and a second one during the rollback stops waiting and says what is in flight.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

#[derive(Clone, Default)]
pub struct Interrupt {
    count: Arc<AtomicU32>,
    notify: Arc<Notify>,
}

impl Interrupt {
    /// Installs the handler (SIGINT, and SIGTERM as CI runners send on cancel).
    pub fn install() -> Interrupt {
        let i = Interrupt::default();
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            for kind in [SignalKind::interrupt(), SignalKind::terminate()] {
                if let Ok(mut s) = signal(kind) {
                    let me = i.clone();
                    tokio::spawn(async move {
                        while s.recv().await.is_some() {
                            me.count.fetch_add(1, Ordering::SeqCst);
                            me.notify.notify_waiters();
                        }
                    });
                }
            }
        }
        #[cfg(not(unix))]
        {
            let me = i.clone();
            tokio::spawn(async move {
                while tokio::signal::ctrl_c().await.is_ok() {
                    me.count.fetch_add(1, Ordering::SeqCst);
                    me.notify.notify_waiters();
                }
            });
        }
        i
    }

    /// How many interrupts arrived so far.
    pub fn count(&self) -> u32 {
        self.count.load(Ordering::SeqCst)
    }

    /// Completes once more than `seen` interrupts arrived.
    pub async fn beyond(&self, seen: u32) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            // Register interest before checking, so an interrupt in between is not lost.
            notified.as_mut().enable();
            if self.count() > seen {
                return;
            }
            notified.await;
        }
    }
}
