//! RFC 9457 problem details: how every api error answers
//! (`application/problem+json`), and what the renderer reads back from a
//! refused booking or event batch.

use serde::{Deserialize, Serialize};

use crate::media::MediaUse;
use crate::slots::Slot;

/// RFC 9457 problem details.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Per-field failures (422 and some 400s).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// With a 409 for a taken appointment slot: the free slots nearest to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nearest_slots: Option<Vec<Slot>>,
    /// With a 409 for deleting a media still in use: what uses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_by: Option<Vec<MediaUse>>,
}

/// One invalid field of a request body or query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// The field's name as sent (`name`, `theme.colors`, `events.3.kind`).
    pub field: String,
    /// JSON pointer to the field (`/name`).
    pub pointer: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        FieldError {
            field: field.to_owned(),
            pointer: format!("/{}", field.replace('.', "/")),
            message: message.into(),
        }
    }

    /// The index of the batch item this error names (`events.3.kind` under
    /// `events` is 3).
    pub fn item_of(&self, list: &str) -> Option<usize> {
        self.field
            .strip_prefix(list)?
            .strip_prefix('.')?
            .split('.')
            .next()?
            .parse()
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_name_their_batch_item() {
        assert_eq!(
            FieldError::new("events.3.kind", "x").item_of("events"),
            Some(3)
        );
        assert_eq!(FieldError::new("events", "x").item_of("events"), None);
        assert_eq!(FieldError::new("eventsx.1", "x").item_of("events"), None);
        assert_eq!(FieldError::new("events.1", "x").pointer, "/events/1");
    }
}
