//! Membership rules: only an owner grants or takes away the owner role, and
//! the last owner can be neither demoted nor removed. Used wherever members
//! are added, changed or removed (`/memberships` and `/users`).

use diesel::PgConnection;
use uuid::Uuid;

use super::roles::Role;
use crate::db::audit::Audit;
use crate::db::memberships::{self, Membership, NewMembership};
use crate::error::ApiError;

/// Refuses changes that touch the owner role unless the actor is an owner, and
/// any change that would leave the tenant without an owner.
pub fn guard_owner_rules(
    conn: &mut PgConnection,
    actor_role: Role,
    current: &Membership,
    new_role: Option<Role>,
) -> Result<(), ApiError> {
    let touches_owner = current.role == Role::Owner || new_role == Some(Role::Owner);
    if touches_owner && actor_role != Role::Owner {
        return Err(ApiError::Forbidden(
            "only an owner may grant or take away the owner role".into(),
        ));
    }
    let loses_owner = current.role == Role::Owner && new_role != Some(Role::Owner);
    if loses_owner && memberships::count_owners(conn, current.tenant_id)? <= 1 {
        return Err(ApiError::Conflict(
            "the tenant must keep at least one owner".into(),
        ));
    }
    Ok(())
}

/// 403 unless `actor_role` may hand out `role` (only owners make owners).
pub fn check_may_grant(actor_role: Role, role: Role) -> Result<(), ApiError> {
    if role == Role::Owner && actor_role != Role::Owner {
        return Err(ApiError::Forbidden(
            "only an owner may grant the owner role".into(),
        ));
    }
    Ok(())
}

/// Makes `user_id` a member of the audit's tenant with `role`, audited.
pub fn add_member(
    conn: &mut PgConnection,
    audit: &Audit,
    actor_role: Role,
    user_id: Uuid,
    role: Role,
) -> Result<Membership, ApiError> {
    check_may_grant(actor_role, role)?;
    let membership = memberships::insert(
        conn,
        &NewMembership {
            id: Uuid::now_v7(),
            tenant_id: audit.tenant_id,
            user_id,
            role,
        },
    )?;
    audit.created(conn, "membership", membership.id, &membership)?;
    Ok(membership)
}
