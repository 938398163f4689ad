//! Invalidation messages: the api publishes on `cms:invalidate` after every
//! publish and content change; every renderer node subscribes and evicts.

use std::sync::Arc;
use std::time::Duration;

use fred::prelude::{ClientLike, EventInterface, PubsubInterface};
use serde::Deserialize;

use std::sync::atomic::Ordering;

use crate::cache::Documents;
use crate::metrics::Metrics;

/// The channel the api publishes invalidations on.
pub const INVALIDATION_CHANNEL: &str = "cms:invalidate";

#[derive(Deserialize)]
struct InvalidationMessage {
    site: String,
    #[serde(default)]
    paths: Vec<String>,
    /// Only the tenant's clinic data changed: pages stay, their clinic
    /// modules' data goes (shells are keyed by its ETag, so they follow).
    #[serde(default)]
    clinic_data: bool,
    /// The primary's WAL position after the change (api with read
    /// replicas): refills ask for it, so a lagging replica cannot answer.
    #[serde(default)]
    position: Option<String>,
}

/// Subscribes to `cms:invalidate` and evicts by its messages. After every
/// reconnect (Redis restarted, or a Sentinel failover to another master) it
/// subscribes again, then forgets what it had in memory and stops trusting
/// the shared copies made before: messages sent meanwhile are lost.
pub async fn subscribe(
    config: fred::prelude::Config,
    documents: Arc<Documents>,
    metrics: Arc<Metrics>,
) -> Result<(), fred::error::Error> {
    let subscriber = fred::prelude::Builder::from_config(config)
        .with_connection_config(|conn| conn.connection_timeout = Duration::from_millis(500))
        .set_policy(fred::prelude::ReconnectPolicy::new_constant(0, 500))
        .build_subscriber_client()?;
    let on_message = Arc::clone(&documents);
    subscriber.on_message(move |message| {
        let documents = Arc::clone(&on_message);
        async move {
            let parsed = message
                .value
                .as_bytes()
                .and_then(|raw| serde_json::from_slice::<InvalidationMessage>(raw).ok());
            match parsed {
                Some(change) if change.clinic_data => {
                    documents
                        .invalidate_clinic_data(&change.site, change.position.as_deref())
                        .await
                }
                Some(change) => {
                    documents
                        .invalidate(&change.site, &change.paths, change.position.as_deref())
                        .await
                }
                None => documents.forget_all(),
            }
            Ok(())
        }
    });
    let on_error = (subscriber.clone(), Arc::clone(&metrics));
    subscriber.on_error(move |(err, _)| {
        let (subscriber, metrics) = (on_error.0.clone(), Arc::clone(&on_error.1));
        async move {
            if !subscriber.is_connected() {
                metrics.invalidation_subscribed.store(0, Ordering::Relaxed);
                tracing::warn!(error = %err, "lost the {INVALIDATION_CHANNEL} subscription; reconnecting");
            }
            Ok(())
        }
    });
    // Our own resubscription (not fred's manage_subscriptions) so the
    // forgetting happens after the subscription is back, not before.
    let resubscriber = subscriber.clone();
    let mut reconnects = subscriber.reconnect_rx();
    let on_reconnect = (Arc::clone(&documents), Arc::clone(&metrics));
    tokio::spawn(async move {
        let (documents, metrics) = on_reconnect;
        while let Ok(server) = reconnects.recv().await {
            if resubscriber.tracked_channels().is_empty() {
                // The first connection: `subscribe` below is still on its way.
                continue;
            }
            match resubscriber.resubscribe_all().await {
                Ok(()) => {
                    documents.forget_all();
                    metrics.invalidation_subscribed.store(1, Ordering::Relaxed);
                    metrics
                        .invalidation_resubscribed
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::info!(%server, "subscribed to {INVALIDATION_CHANNEL} again; in-memory documents forgotten");
                }
                Err(err) => {
                    tracing::warn!(error = %err, "cannot subscribe to {INVALIDATION_CHANNEL} again")
                }
            }
        }
    });
    tokio::spawn(async move {
        if let Err(err) = subscriber.init().await {
            tracing::warn!(error = %err, "cannot connect the invalidation subscriber");
            return;
        }
        match subscriber.subscribe(INVALIDATION_CHANNEL).await {
            Ok(()) => metrics.invalidation_subscribed.store(1, Ordering::Relaxed),
            Err(err) => tracing::warn!(error = %err, "cannot subscribe to {INVALIDATION_CHANNEL}"),
        }
        // Keep the client alive for the life of the process.
        std::future::pending::<()>().await;
    });
    Ok(())
}
