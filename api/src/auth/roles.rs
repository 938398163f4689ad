//! Roles a membership grants and what each may do. Handlers ask for a
//! `Permission`; the mapping from role to permissions lives only here.

// A member's role in a tenant (the `memberships.role` column). A plain
// comment: a doc comment would become the spec's description of `Role`.
crate::db_enum! {
    pub enum Role {
        Owner = "owner",
        Admin = "admin",
        Editor = "editor",
        Viewer = "viewer",
        Doctor = "doctor",
        Patient = "patient",
    }
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
    /// See the tenant's background jobs, retry and cancel them.
    ManageJobs,
    /// Register webhook endpoints, rotate their secrets, replay deliveries.
    ManageWebhooks,
}

impl Role {
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
        let roles: Vec<&str> = Role::ALL.iter().map(|role| role.as_str()).collect();
        assert_eq!(
            roles,
            ["owner", "admin", "editor", "viewer", "doctor", "patient"]
        );
        for role in Role::ALL {
            assert_eq!(role.as_str().parse(), Ok(*role));
        }
        assert!("superuser".parse::<Role>().is_err());
        assert!(Role::Editor.allows(Permission::WriteContent));
        assert!(!Role::Editor.allows(Permission::ManageMembers));
        assert!(!Role::Viewer.allows(Permission::WriteContent));
        assert!(!Role::Patient.allows(Permission::ReadContent));
        assert!(Role::Admin.allows(Permission::ManageMembers));
        assert!(Role::Owner.allows(Permission::ManageSettings));
        assert!(!Role::Editor.allows(Permission::ManageSettings));
    }
}
