//! `POST /api/v1/delivery/events`: the batch of experiment events renderers
//! and external frontends send, and the answer.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What an event records: a visitor's `exposure` to a variant, a `conversion`
/// (a goal reached), or a named `custom` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Exposure,
    Conversion,
    Custom,
}

impl EventKind {
    pub const ALL: [EventKind; 3] = [
        EventKind::Exposure,
        EventKind::Conversion,
        EventKind::Custom,
    ];

    /// As stored in `experiment_events.kind` (whose CHECK lists the same).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Exposure => "exposure",
            EventKind::Conversion => "conversion",
            EventKind::Custom => "custom",
        }
    }
}

/// One event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    pub experiment: Uuid,
    /// The variant key the visitor was assigned.
    pub variant: String,
    /// The visitor id (the renderer's `cms_vid` cookie): 1 to 64 of
    /// `A-Z a-z 0-9 - _ .`.
    pub visitor: String,
    pub kind: EventKind,
    /// Conversions: the goal reached (default: the experiment's goal).
    /// Custom events: their name. Exposures: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// 1 to 100 events, stored whole or not at all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EventBatch {
    pub events: Vec<EventInput>,
}

/// 202: the batch is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventsAccepted {
    /// Events in the batch.
    pub accepted: usize,
    /// Of them, first occurrences now recorded.
    pub recorded: i64,
    /// Already recorded before (same experiment, kind, name and visitor).
    pub duplicates: i64,
}
