//! The node-local cache of `available-slots` answers. A leaf: it knows the
//! answer bytes, not how they are computed.

use std::sync::Arc;
use std::time::Duration;

use actix_web::web::Bytes;
use cms_shared::clinic::SlotList;

use crate::error::ApiError;
use crate::http::etag::content_etag;

/// `available-slots` answers this node computed in the last
/// `CMS_SLOTS_CACHE_MS`, as the bytes and ETag sent: popular doctors are
/// looked at by many visitors at once, and concurrent requests for one
/// answer compute it once. Any booking, status change or schedule change
/// here empties it.
pub struct SlotsCache {
    answers: Option<moka::future::Cache<String, Arc<SlotsAnswer>>>,
}

/// A serialised `available-slots` answer.
pub struct SlotsAnswer {
    pub body: Bytes,
    pub etag: String,
}

impl SlotsAnswer {
    pub fn new(slots: &SlotList) -> Self {
        let body = serde_json::to_vec(slots).unwrap_or_default();
        SlotsAnswer {
            etag: content_etag(&body),
            body: body.into(),
        }
    }
}

impl SlotsCache {
    pub fn new(lifetime_ms: u64) -> Self {
        SlotsCache {
            answers: (lifetime_ms > 0).then(|| {
                moka::future::Cache::builder()
                    .max_capacity(10_000)
                    .time_to_live(Duration::from_millis(lifetime_ms))
                    .build()
            }),
        }
    }

    /// The answer under `key`, computed by `compute` once however many
    /// requests wait for it.
    pub async fn get_or_compute<F>(
        &self,
        key: String,
        compute: F,
    ) -> Result<Arc<SlotsAnswer>, ApiError>
    where
        F: std::future::Future<Output = Result<SlotsAnswer, ApiError>>,
    {
        match &self.answers {
            None => Ok(Arc::new(compute.await?)),
            Some(answers) => answers
                .try_get_with(key, async { compute.await.map(Arc::new) })
                .await
                .map_err(|err| (*err).clone()),
        }
    }

    /// After anything that changes free times.
    pub fn forget(&self) {
        if let Some(answers) = &self.answers {
            answers.invalidate_all();
        }
    }
}
