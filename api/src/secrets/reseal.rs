//! `api secrets reseal`: every stored secret sealed again under the current
//! `CMS_SECRETS_KEY`: provider credentials and webhook secrets (current and
//! previous), including webhook secrets stored in the clear before sealing
//! existed. Run it after a key rotation, before `CMS_SECRETS_KEY_OLD` is
//! removed. Each tenant is one transaction that locks its rows, so it is safe
//! while serving (a rotation meanwhile waits for it, or it for the rotation)
//! and safe to run twice (values already under the current key are left).

use diesel::prelude::*;
use diesel::PgConnection;
use uuid::Uuid;

use super::{Keys, Sealed};
use crate::db::schema::{notification_providers, tenants, webhook_endpoints};
use crate::db::{Db, Scope};
use crate::error::ApiError;

/// What one tenant's pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Sealed again under the current key (clear ones sealed for the first time).
    pub resealed: usize,
    /// Already under the current key.
    pub current: usize,
    /// Did not open (a key neither current nor old, or tampered): left as is.
    pub unreadable: usize,
}

impl Counts {
    fn add(&mut self, other: Counts) {
        self.resealed += other.resealed;
        self.current += other.current;
        self.unreadable += other.unreadable;
    }
}

/// One stored webhook secret under the current key: `None` when it already
/// is; `Err` when it does not open.
fn resealed_webhook_secret(
    keys: &Keys,
    tenant: Uuid,
    stored: &str,
) -> Result<Option<String>, String> {
    // Secrets stored before sealing existed are `whsec_...` in the clear.
    let secret = if stored.starts_with("whsec_") {
        stored.as_bytes().to_vec()
    } else {
        let sealed = Sealed::from_text(stored).ok_or("the stored secret is malformed")?;
        if sealed.key_id == keys.current_key_id() {
            return Ok(None);
        }
        keys.open(tenant, &sealed).map_err(|err| err.to_string())?
    };
    Ok(Some(keys.seal(tenant, &secret).to_text()))
}

fn tally(counts: &mut Counts, outcome: &Result<Option<String>, String>) {
    match outcome {
        Ok(Some(_)) => counts.resealed += 1,
        Ok(None) => counts.current += 1,
        Err(_) => counts.unreadable += 1,
    }
}

fn reseal_tenant(conn: &mut PgConnection, keys: &Keys, tenant: Uuid) -> Result<Counts, ApiError> {
    let mut counts = Counts::default();
    let endpoints: Vec<(Uuid, String, Option<String>)> = webhook_endpoints::table
        .select((
            webhook_endpoints::id,
            webhook_endpoints::secret,
            webhook_endpoints::previous_secret,
        ))
        .order(webhook_endpoints::id)
        .for_update()
        .load(conn)?;
    for (id, secret, previous) in endpoints {
        let secret = resealed_webhook_secret(keys, tenant, &secret);
        tally(&mut counts, &secret);
        let previous = previous.map(|stored| resealed_webhook_secret(keys, tenant, &stored));
        if let Some(previous) = &previous {
            tally(&mut counts, previous);
        }
        if let Ok(Some(sealed)) = secret {
            diesel::update(webhook_endpoints::table.find(id))
                .set(webhook_endpoints::secret.eq(sealed))
                .execute(conn)?;
        }
        if let Some(Ok(Some(sealed))) = previous {
            diesel::update(webhook_endpoints::table.find(id))
                .set(webhook_endpoints::previous_secret.eq(sealed))
                .execute(conn)?;
        }
    }
    let providers: Vec<(String, String, Vec<u8>, Vec<u8>)> = notification_providers::table
        .select((
            notification_providers::kind,
            notification_providers::key_id,
            notification_providers::nonce,
            notification_providers::ciphertext,
        ))
        .order(notification_providers::kind)
        .for_update()
        .load(conn)?;
    for (kind, key_id, nonce, ciphertext) in providers {
        if key_id == keys.current_key_id() {
            counts.current += 1;
            continue;
        }
        let sealed = Sealed {
            key_id,
            nonce,
            ciphertext,
        };
        let Ok(plaintext) = keys.open(tenant, &sealed) else {
            counts.unreadable += 1;
            continue;
        };
        let resealed = keys.seal(tenant, &plaintext);
        diesel::update(notification_providers::table.find((tenant, kind)))
            .set((
                notification_providers::key_id.eq(resealed.key_id),
                notification_providers::nonce.eq(resealed.nonce),
                notification_providers::ciphertext.eq(resealed.ciphertext),
            ))
            .execute(conn)?;
        counts.resealed += 1;
    }
    Ok(counts)
}

/// Reseals every tenant's secrets, telling `progress` about each tenant as
/// it is done (`slug: counts`); answers the totals.
pub async fn reseal_all(
    db: &Db,
    keys: &Keys,
    mut progress: impl FnMut(&str, Counts),
) -> Result<Counts, ApiError> {
    let tenants: Vec<(Uuid, String)> = db
        .tx(Scope::default(), |conn| {
            Ok(tenants::table
                .select((tenants::id, tenants::slug))
                .order(tenants::id)
                .load(conn)?)
        })
        .await?;
    let mut total = Counts::default();
    for (tenant, slug) in tenants {
        let keys = keys.clone();
        let scope = Scope {
            tenant_id: Some(tenant),
            user_id: None,
        };
        let counts = db
            .tx(scope, move |conn| reseal_tenant(conn, &keys, tenant))
            .await?;
        progress(&slug, counts);
        total.add(counts);
    }
    Ok(total)
}
