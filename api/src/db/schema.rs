// @generated shape of `diesel print-schema` for the migrations in /migrations.
// Kept by hand (no diesel_cli on CI machines); `tests/tests/schema.rs` checks it
// against the migrated database's columns.

diesel::table! {
    audit_log (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        actor_user_id -> Nullable<Uuid>,
        action -> Text,
        entity_type -> Text,
        entity_id -> Uuid,
        before -> Nullable<Jsonb>,
        after -> Nullable<Jsonb>,
        request_id -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    domains (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        site_id -> Uuid,
        host -> Text,
        is_primary -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    memberships (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        user_id -> Uuid,
        role -> Text,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Uuid,
        user_id -> Uuid,
        tenant_id -> Nullable<Uuid>,
        family_id -> Uuid,
        token_hash -> Bytea,
        expires_at -> Timestamptz,
        rotated_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    sites (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        name -> Text,
        default_locale -> Text,
        locales -> Array<Text>,
        theme -> Jsonb,
        analytics -> Jsonb,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    tenants (id) {
        id -> Uuid,
        slug -> Text,
        name -> Text,
        status -> Text,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        email -> Text,
        name -> Text,
        password_hash -> Text,
        is_platform_admin -> Bool,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(domains -> sites (site_id));
diesel::joinable!(domains -> tenants (tenant_id));
diesel::joinable!(memberships -> tenants (tenant_id));
diesel::joinable!(memberships -> users (user_id));
diesel::joinable!(sites -> tenants (tenant_id));

diesel::allow_tables_to_appear_in_same_query!(
    audit_log,
    builtin_modules,
    custom_modules,
    domains,
    leads,
    memberships,
    page_blocks,
    page_revisions,
    pages,
    refresh_tokens,
    sites,
    tenants,
    users,
);

diesel::table! {
    builtin_modules (key) {
        key -> Text,
        name -> Text,
        category -> Text,
        props_schema -> Jsonb,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    custom_modules (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        key -> Text,
        name -> Text,
        category -> Text,
        props_schema -> Jsonb,
        template -> Text,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    pages (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        site_id -> Uuid,
        locale -> Text,
        path -> Text,
        title -> Text,
        seo -> Jsonb,
        status -> Text,
        publish_at -> Nullable<Timestamptz>,
        published_revision_id -> Nullable<Uuid>,
        published_at -> Nullable<Timestamptz>,
        published_locale -> Nullable<Text>,
        published_path -> Nullable<Text>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    page_blocks (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        page_id -> Uuid,
        position -> Int4,
        module_key -> Text,
        props -> Jsonb,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    page_revisions (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        page_id -> Uuid,
        number -> Int4,
        snapshot -> Jsonb,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(custom_modules -> tenants (tenant_id));
diesel::joinable!(pages -> sites (site_id));
diesel::joinable!(page_blocks -> pages (page_id));
diesel::joinable!(page_revisions -> pages (page_id));

diesel::table! {
    leads (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        site_id -> Uuid,
        page_id -> Nullable<Uuid>,
        path -> Text,
        variant -> Nullable<Text>,
        visitor_id -> Nullable<Text>,
        fields -> Jsonb,
        utm -> Jsonb,
        idempotency_key -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(leads -> sites (site_id));
