//! The node-local cache of experiment routes (tenant, status, variants) that
//! event ingestion checks batches against. A leaf: it reads the database,
//! nothing else.

use std::collections::HashMap;
use std::time::Duration;

use uuid::Uuid;

use crate::db::routing::{self, ExperimentRoute};
use crate::db::Db;
use crate::error::ApiError;

/// Recently looked-up experiments, so a batch costs no routing query. Every
/// change on this node forgets its entry at once; other nodes see a status
/// change within the time to live.
pub struct ExperimentRoutes {
    cache: moka::future::Cache<Uuid, Option<ExperimentRoute>>,
}

impl ExperimentRoutes {
    pub fn new(ttl: Duration) -> Self {
        ExperimentRoutes {
            cache: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(ttl)
                .build(),
        }
    }

    pub async fn forget(&self, id: Uuid) {
        self.cache.invalidate(&id).await;
    }

    /// The routes of `ids`, from memory or one query for those not there.
    pub async fn lookup(
        &self,
        db: &Db,
        ids: &[Uuid],
    ) -> Result<HashMap<Uuid, Option<ExperimentRoute>>, ApiError> {
        let mut found = HashMap::with_capacity(ids.len());
        let mut missing = Vec::new();
        for id in ids {
            match self.cache.get(id).await {
                Some(route) => {
                    found.insert(*id, route);
                }
                None => missing.push(*id),
            }
        }
        if !missing.is_empty() {
            let query_ids = missing.clone();
            let routes = db
                .unscoped(move |conn| Ok(routing::experiments(conn, &query_ids)?))
                .await?;
            for id in missing {
                let route = routes.iter().find(|route| route.id == id).cloned();
                self.cache.insert(id, route.clone()).await;
                found.insert(id, route);
            }
        }
        Ok(found)
    }
}
