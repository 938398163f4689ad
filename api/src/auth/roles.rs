//! Roles a membership grants and what each may do. Handlers ask for a
//! `Permission`; the mapping from role to permissions lives only here.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Editor,
    Viewer,
    Doctor,
    Patient,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read sites and their content.
    ReadContent,
    /// Create, change and delete sites, domains and content.
    WriteContent,
    /// Read the member list and the audit log.
    ReadMembers,
    /// Add, change and remove members.
    ManageMembers,
    /// Read and change the tenant's own settings (its allowed origins).
    ManageSettings,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Owner,
        Role::Admin,
        Role::Editor,
        Role::Viewer,
        Role::Doctor,
        Role::Patient,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Editor => "editor",
            Role::Viewer => "viewer",
            Role::Doctor => "doctor",
            Role::Patient => "patient",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == value)
    }

    pub fn allows(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Owner | Role::Admin => true,
            Role::Editor => matches!(permission, ReadContent | WriteContent | ReadMembers),
            Role::Viewer => matches!(permission, ReadContent),
            Role::Doctor | Role::Patient => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_grant_as_documented() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert!(Role::Editor.allows(Permission::WriteContent));
        assert!(!Role::Editor.allows(Permission::ManageMembers));
        assert!(!Role::Viewer.allows(Permission::WriteContent));
        assert!(!Role::Patient.allows(Permission::ReadContent));
        assert!(Role::Admin.allows(Permission::ManageMembers));
        assert!(Role::Owner.allows(Permission::ManageSettings));
        assert!(!Role::Editor.allows(Permission::ManageSettings));
    }
}
