//! The slice of a list a query reads: how many rows, after which id. Rows
//! are ordered by their UUIDv7 id, so the last id seen is the whole cursor.
//! Parsing it from a request is HTTP's business (`http::pagination`).

use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct PageRequest {
    pub limit: i64,
    pub after: Option<Uuid>,
}

impl PageRequest {
    /// One more row than the page holds tells whether another page follows.
    pub fn fetch_limit(&self) -> i64 {
        self.limit + 1
    }
}
