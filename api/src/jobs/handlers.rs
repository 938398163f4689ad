//! What each job kind does. `Registry::standard` holds the api's own kinds;
//! later features register theirs there.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use uuid::Uuid;

use super::{Handler, JobContext, JobError, JobFuture};
use crate::content::publish::{self, PUBLISH_JOB};
use crate::db::audit::{Actor, Audit};
use crate::db::{jobs as job_db, pages, routing, Scope};
use crate::webhooks;

/// Job kinds and their handlers.
#[derive(Default, Clone)]
pub struct Registry {
    handlers: HashMap<String, Arc<dyn Handler>>,
}

impl Registry {
    /// The api's job kinds.
    pub fn standard() -> Self {
        let mut registry = Registry::default();
        registry.register(PUBLISH_JOB, PublishPage);
        registry.register(PUBLISH_DUE_JOB, PublishDuePages);
        registry.register(PRUNE_JOB, PruneJobs);
        registry.register(NOOP_JOB, Noop);
        registry.register(
            crate::notifications::SEND_JOB,
            crate::notifications::send::SendNotification,
        );
        registry.register(
            webhooks::delivery::DELIVER_JOB,
            webhooks::delivery::Deliver::default(),
        );
        registry.register(
            crate::media::jobs::RENDITIONS_JOB,
            crate::media::jobs::MakeRenditions,
        );
        registry.register(crate::media::jobs::AVIF_JOB, crate::media::jobs::MakeAvif);
        registry.register(
            crate::media::jobs::SWEEP_JOB,
            crate::media::jobs::SweepUploads,
        );
        registry
    }

    pub fn register(&mut self, kind: &str, handler: impl Handler) {
        self.handlers.insert(kind.to_owned(), Arc::new(handler));
    }

    pub fn get(&self, kind: &str) -> Option<Arc<dyn Handler>> {
        self.handlers.get(kind).cloned()
    }
}

/// Publishes a scheduled page when it is due (`args.page_id`).
struct PublishPage;

impl Handler for PublishPage {
    fn run(&self, ctx: JobContext) -> JobFuture {
        Box::pin(async move {
            let page_id: Uuid = ctx.arg("page_id")?;
            let audit = ctx
                .audit()
                .ok_or_else(|| JobError::Discard("a page job needs a tenant".into()))?;
            let media = ctx.state.config.media.clone();
            let outcome = ctx
                .tx(move |conn| publish::publish_scheduled(conn, &audit, &media, page_id))
                .await?;
            match outcome {
                Some(outcome) => {
                    let state = &ctx.state;
                    state
                        .cache
                        .invalidate(&state.kv, outcome.invalidation)
                        .await;
                    tracing::info!(page_id = %page_id, "scheduled page published");
                    Ok(())
                }
                None => {
                    // Not due (rescheduled, published by hand, unscheduled)
                    // is done; due but locked by an editor's write is retried.
                    let page = ctx.tx(move |conn| Ok(pages::find(conn, page_id)?)).await?;
                    let still_due = page.is_some_and(|page| {
                        page.status == pages::PageStatus::Scheduled
                            && page.publish_at.is_some_and(|at| at <= Utc::now())
                    });
                    if still_due {
                        Err(JobError::RetryAfter(
                            "the page is being written; publishing shortly".into(),
                            Duration::from_secs(1),
                        ))
                    } else {
                        Ok(())
                    }
                }
            }
        })
    }
}

/// System cron: publishes any scheduled page that is due and has no publish
/// job (scheduled through a path that enqueued none, say an import).
pub const PUBLISH_DUE_JOB: &str = "pages.publish_due";
struct PublishDuePages;

impl Handler for PublishDuePages {
    fn run(&self, ctx: JobContext) -> JobFuture {
        Box::pin(async move {
            let state = ctx.state.clone();
            let due = state
                .db
                .tx(Scope::global(), |conn| Ok(routing::due_pages(conn, 100)?))
                .await?;
            for item in due {
                let audit = Audit {
                    actor: Actor {
                        user_id: None,
                        request_id: Some(format!("job:{}", ctx.job.id)),
                    },
                    tenant_id: item.tenant_id,
                };
                let scope = Scope {
                    tenant_id: Some(item.tenant_id),
                    user_id: None,
                };
                let media = state.config.media.clone();
                if let Some(outcome) = state
                    .db
                    .tx(scope, move |conn| {
                        publish::publish_scheduled(conn, &audit, &media, item.page_id)
                    })
                    .await?
                {
                    state
                        .cache
                        .invalidate(&state.kv, outcome.invalidation)
                        .await;
                    tracing::info!(page_id = %item.page_id, "overdue scheduled page published");
                }
            }
            Ok(())
        })
    }
}

/// System cron: deletes completed and cancelled jobs after 7 days, discarded
/// ones after 30.
pub const PRUNE_JOB: &str = "jobs.prune";
struct PruneJobs;

impl Handler for PruneJobs {
    fn run(&self, ctx: JobContext) -> JobFuture {
        Box::pin(async move {
            let now = Utc::now();
            let pruned = ctx
                .state
                .db
                .unscoped(move |conn| {
                    Ok(job_db::prune(
                        conn,
                        now - chrono::Duration::days(7),
                        now - chrono::Duration::days(30),
                    )?)
                })
                .await?;
            tracing::info!(pruned, "old jobs pruned");
            Ok(())
        })
    }
}

/// Does nothing: the queue's own cost, measured by `make bench`.
pub const NOOP_JOB: &str = "noop";
struct Noop;

impl Handler for Noop {
    fn run(&self, _ctx: JobContext) -> JobFuture {
        Box::pin(async { Ok(()) })
    }
}
