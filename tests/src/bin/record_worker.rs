//! A job worker process for the queue's multi-process tests: `api worker`'s
//! own loop (`run_until_stopped`) with the api's handlers plus
//! `test.record`, which waits `args.ms` milliseconds and then, in the one
//! transaction that completes its job fenced on the claim, inserts a row
//! keyed by the job's id and this process's pid into `job_runs` (a table the
//! test makes). A run that happened twice shows as two rows.

use std::time::Duration;

use cms_api::error::ApiError;
use cms_api::jobs::handlers::Registry;
use cms_api::jobs::{Handler, JobContext, JobFuture};
use diesel::prelude::*;

struct Record;

impl Handler for Record {
    fn run(&self, ctx: JobContext) -> JobFuture {
        Box::pin(async move {
            let ms = ctx.job.args["ms"].as_u64().unwrap_or(0);
            if ms > 0 {
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            let (id, attempt) = (ctx.job.id, ctx.job.attempt);
            ctx.complete_with(move |conn| {
                diesel::sql_query(
                    "INSERT INTO job_runs (job_id, pid, attempt) VALUES ($1, $2, $3)",
                )
                .bind::<diesel::sql_types::Uuid, _>(id)
                .bind::<diesel::sql_types::Integer, _>(std::process::id() as i32)
                .bind::<diesel::sql_types::Integer, _>(attempt)
                .execute(conn)
                .map_err(ApiError::from)?;
                Ok(())
            })
            .await
        })
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    cms_api::telemetry::init("info");
    let state = cms_api::app::build_state(cms_api::Config::from_env()?).await?;
    let mut registry = Registry::standard();
    registry.register("test.record", Record);
    cms_api::jobs::worker::run_until_stopped(state, registry).await;
    Ok(())
}
