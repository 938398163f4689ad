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

/// Subscribes to `cms:invalidate` (fred resubscribes after reconnecting) and
/// evicts by its messages; after a reconnect everything in memory is dropped,
/// since messages sent meanwhile are lost.
pub async fn subscribe(
    url: &str,
    documents: Arc<Documents>,
    metrics: Arc<Metrics>,
) -> Result<(), fred::error::Error> {
    let subscriber = fred::prelude::Builder::from_config(fred::prelude::Config::from_url(url)?)
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
    let on_reconnect = Arc::clone(&documents);
    subscriber.on_reconnect(move |_| {
        on_reconnect.forget_all();
        async { Ok(()) }
    });
    drop(subscriber.manage_subscriptions());
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
