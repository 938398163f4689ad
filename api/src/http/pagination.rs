//! Cursor pagination: `?limit=&cursor=` in, `{"items", "next_cursor"}` out.
//! Rows are ordered by their UUIDv7 id, so the cursor is the last id seen.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

pub use crate::db::cursor::PageRequest;
use crate::error::ApiError;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl TryFrom<PageQuery> for PageRequest {
    type Error = ApiError;

    fn try_from(query: PageQuery) -> Result<Self, ApiError> {
        let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::invalid(
                "limit",
                format!("must be 1 to {MAX_LIMIT}"),
            ));
        }
        let after = query
            .cursor
            .map(|cursor| {
                URL_SAFE_NO_PAD
                    .decode(cursor.as_bytes())
                    .ok()
                    .and_then(|bytes| Uuid::from_slice(&bytes).ok())
                    .ok_or_else(|| ApiError::invalid("cursor", "is not a cursor this API issued"))
            })
            .transpose()?;
        Ok(PageRequest { limit, after })
    }
}

/// A page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListResponse<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> ListResponse<T> {
    /// A list that is never paged (a page's blocks, a site's domains).
    pub fn complete(items: Vec<T>) -> Self {
        ListResponse {
            items,
            next_cursor: None,
        }
    }

    /// Builds the page from rows fetched with `fetch_limit()`; `key` gives a row's cursor id.
    pub fn from_rows(mut rows: Vec<T>, page: &PageRequest, key: impl Fn(&T) -> Uuid) -> Self {
        let has_more = rows.len() as i64 > page.limit;
        rows.truncate(page.limit as usize);
        let next_cursor = if has_more {
            rows.last()
                .map(|row| URL_SAFE_NO_PAD.encode(key(row).as_bytes()))
        } else {
            None
        };
        ListResponse {
            items: rows,
            next_cursor,
        }
    }

    /// The same page with its items converted (a public view of the rows).
    pub fn map<U>(self, convert: impl FnOnce(Vec<T>) -> Vec<U>) -> ListResponse<U> {
        ListResponse {
            items: convert(self.items),
            next_cursor: self.next_cursor,
        }
    }
}
