//! `/api/v1/pages/{id}/experiments` and `/api/v1/experiments/{id}`: A/B
//! experiments of a page, their lifecycle (`start`, `pause`, `complete`,
//! optionally publishing the winner), results and an HTML report.
//! Anything that changes what delivery serves invalidates the page.

mod crud;
mod lifecycle;
mod reports;

use uuid::Uuid;

use crate::content::publish;
use crate::db::pages::Page;
use crate::error::FieldError;
use crate::experiments::{
    check_coverage, check_goal, check_hypothesis, check_name, check_targeting, check_variants,
    ExperimentPatch, NewExperiment,
};
use crate::http::json::Validate;
use crate::state::AppState;

use crud::{
    create_experiment, delete_experiment, get_experiment, list_experiments, update_experiment,
};
use lifecycle::{complete_experiment, pause_experiment, start_experiment};
use reports::{experiment_report, experiment_results};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_experiments)
        .service(create_experiment)
        .service(get_experiment)
        .service(update_experiment)
        .service(delete_experiment)
        .service(start_experiment)
        .service(pause_experiment)
        .service(complete_experiment)
        .service(experiment_results)
        .service(experiment_report);
}

impl Validate for NewExperiment {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        check_name(&mut errors, &self.name);
        check_hypothesis(&mut errors, &self.hypothesis);
        check_goal(&mut errors, &self.goal);
        check_coverage(&mut errors, self.coverage);
        check_variants(&mut errors, &self.variants);
        check_targeting(&mut errors, &self.targeting, &self.variants);
        errors
    }
}

impl Validate for ExperimentPatch {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let Some(name) = &self.name {
            check_name(&mut errors, name);
        }
        if let Some(hypothesis) = &self.hypothesis {
            check_hypothesis(&mut errors, hypothesis);
        }
        if let Some(goal) = &self.goal {
            check_goal(&mut errors, goal);
        }
        if let Some(coverage) = self.coverage {
            check_coverage(&mut errors, coverage);
        }
        if let Some(variants) = &self.variants {
            check_variants(&mut errors, variants);
        }
        errors
    }
}

/// After a change commits: delivery and event validation see it at once.
async fn changed(state: &AppState, experiment: Uuid, page: Option<&Page>) {
    state.experiment_routes.forget(experiment).await;
    if let Some(page) = page {
        state
            .cache
            .invalidate(&state.kv, publish::invalidation_of(page))
            .await;
    }
}
