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
    jobs (id) {
        id -> Uuid,
        tenant_id -> Nullable<Uuid>,
        queue -> Text,
        kind -> Text,
        args -> Jsonb,
        state -> Text,
        priority -> Int4,
        attempt -> Int4,
        max_attempts -> Int4,
        run_at -> Timestamptz,
        unique_key -> Nullable<Text>,
        lease_owner -> Nullable<Uuid>,
        lease_expires_at -> Nullable<Timestamptz>,
        errors -> Jsonb,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        attempted_at -> Nullable<Timestamptz>,
        finished_at -> Nullable<Timestamptz>,
        claim_token -> Nullable<Uuid>,
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
        allowed_origins -> Array<Text>,
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
    appointments,
    audit_log,
    builtin_modules,
    clinics,
    custom_modules,
    doctor_clinics,
    doctor_schedules,
    doctor_services,
    doctors,
    domains,
    experiment_events,
    experiments,
    jobs,
    leads,
    memberships,
    page_blocks,
    page_revisions,
    pages,
    patients,
    payments,
    refresh_tokens,
    reviews,
    schedule_exceptions,
    service_categories,
    service_clinics,
    services,
    sites,
    specializations,
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
        hidden -> Bool,
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

diesel::table! {
    clinics (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        slug -> Text,
        name -> Text,
        address -> Text,
        phone -> Text,
        email -> Text,
        working_hours -> Jsonb,
        latitude -> Nullable<Float8>,
        longitude -> Nullable<Float8>,
        time_zone -> Text,
        is_active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
    }
}

diesel::table! {
    specializations (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        slug -> Text,
        name -> Text,
        description -> Text,
        icon -> Text,
        created_at -> Timestamptz,
        version -> Int4,
    }
}

diesel::table! {
    service_categories (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        parent_id -> Nullable<Uuid>,
        slug -> Text,
        name -> Text,
        position -> Int4,
        created_at -> Timestamptz,
        version -> Int4,
    }
}

diesel::table! {
    services (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        category_id -> Uuid,
        slug -> Text,
        name -> Text,
        description -> Text,
        price_minor -> Int8,
        currency -> Text,
        duration_minutes -> Int4,
        preparation -> Text,
        is_active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
    }
}

diesel::table! {
    doctors (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        user_id -> Nullable<Uuid>,
        specialization_id -> Uuid,
        slug -> Text,
        name -> Text,
        photo -> Nullable<Text>,
        bio -> Text,
        experience_years -> Int4,
        education -> Text,
        certificates -> Jsonb,
        consultation_price_minor -> Nullable<Int8>,
        rating_total -> Int4,
        reviews_count -> Int4,
        is_active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
        photo_media_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    doctor_clinics (doctor_id, clinic_id) {
        tenant_id -> Uuid,
        doctor_id -> Uuid,
        clinic_id -> Uuid,
    }
}

diesel::table! {
    service_clinics (service_id, clinic_id) {
        tenant_id -> Uuid,
        service_id -> Uuid,
        clinic_id -> Uuid,
    }
}

diesel::table! {
    doctor_services (doctor_id, service_id) {
        tenant_id -> Uuid,
        doctor_id -> Uuid,
        service_id -> Uuid,
    }
}

diesel::table! {
    doctor_schedules (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        doctor_id -> Uuid,
        clinic_id -> Uuid,
        day_of_week -> Int4,
        start_time -> Time,
        end_time -> Time,
        is_active -> Bool,
    }
}

diesel::table! {
    schedule_exceptions (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        doctor_id -> Uuid,
        clinic_id -> Nullable<Uuid>,
        date -> Date,
        start_time -> Nullable<Time>,
        end_time -> Nullable<Time>,
        kind -> Text,
        reason -> Text,
    }
}

diesel::table! {
    patients (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        user_id -> Nullable<Uuid>,
        name -> Text,
        phone -> Text,
        birth_date -> Nullable<Date>,
        gender -> Nullable<Text>,
        created_at -> Timestamptz,
        notifications_opt_out -> Bool,
    }
}

diesel::table! {
    appointments (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        site_id -> Nullable<Uuid>,
        patient_id -> Uuid,
        doctor_id -> Uuid,
        service_id -> Uuid,
        clinic_id -> Uuid,
        starts_at -> Timestamptz,
        ends_at -> Timestamptz,
        status -> Text,
        payment_status -> Text,
        price_minor -> Int8,
        currency -> Text,
        notes -> Text,
        idempotency_key -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    reviews (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        patient_id -> Uuid,
        doctor_id -> Uuid,
        appointment_id -> Nullable<Uuid>,
        rating -> Int4,
        comment -> Text,
        is_verified -> Bool,
        is_published -> Bool,
        moderated_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    payments (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        appointment_id -> Uuid,
        amount_minor -> Int8,
        currency -> Text,
        status -> Text,
        provider -> Text,
        provider_reference -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(services -> service_categories (category_id));
diesel::joinable!(doctors -> specializations (specialization_id));
diesel::joinable!(doctor_clinics -> doctors (doctor_id));
diesel::joinable!(doctor_clinics -> clinics (clinic_id));
diesel::joinable!(service_clinics -> services (service_id));
diesel::joinable!(service_clinics -> clinics (clinic_id));
diesel::joinable!(doctor_services -> doctors (doctor_id));
diesel::joinable!(doctor_services -> services (service_id));
diesel::joinable!(doctor_schedules -> doctors (doctor_id));
diesel::joinable!(appointments -> patients (patient_id));
diesel::joinable!(appointments -> doctors (doctor_id));
diesel::joinable!(reviews -> doctors (doctor_id));
diesel::joinable!(payments -> appointments (appointment_id));

diesel::table! {
    experiments (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        site_id -> Uuid,
        page_id -> Uuid,
        name -> Text,
        hypothesis -> Text,
        status -> Text,
        coverage -> Float8,
        goal -> Text,
        seed -> Text,
        variants -> Jsonb,
        targeting -> Jsonb,
        weight_history -> Jsonb,
        winner -> Nullable<Text>,
        version -> Int4,
        started_at -> Nullable<Timestamptz>,
        completed_at -> Nullable<Timestamptz>,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(experiments -> pages (page_id));

diesel::table! {
    experiment_events (experiment_id, kind, name, visitor) {
        experiment_id -> Uuid,
        kind -> Text,
        name -> Text,
        visitor -> Text,
        tenant_id -> Uuid,
        variant -> Text,
        at -> Timestamptz,
    }
}

diesel::joinable!(experiment_events -> experiments (experiment_id));

diesel::table! {
    notification_templates (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        event -> Text,
        channel -> Text,
        locale -> Text,
        subject -> Text,
        body -> Text,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    notification_settings (tenant_id) {
        tenant_id -> Uuid,
        reminder_offsets -> Array<Int4>,
        quiet_start -> Time,
        quiet_end -> Time,
        channels -> Array<Text>,
        locale -> Text,
        staff_email -> Nullable<Text>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    notification_providers (tenant_id, kind) {
        tenant_id -> Uuid,
        kind -> Text,
        channel -> Text,
        base_url -> Nullable<Text>,
        sender -> Text,
        key_id -> Text,
        nonce -> Bytea,
        ciphertext -> Bytea,
        is_active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    notifications (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        job_id -> Uuid,
        channel -> Text,
        recipient -> Text,
        event -> Text,
        appointment_id -> Nullable<Uuid>,
        subject -> Text,
        body -> Text,
        status -> Text,
        provider -> Nullable<Text>,
        provider_message_id -> Nullable<Text>,
        provider_status -> Nullable<Text>,
        error -> Nullable<Text>,
        created_at -> Timestamptz,
        sent_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        url -> Text,
        description -> Text,
        events -> Array<Text>,
        enabled -> Bool,
        disabled_reason -> Nullable<Text>,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_secret_expires_at -> Nullable<Timestamptz>,
        failing_since -> Nullable<Timestamptz>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_messages (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        event_type -> Text,
        payload -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_attempts (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        message_id -> Uuid,
        endpoint_id -> Uuid,
        attempt -> Int4,
        status_code -> Nullable<Int4>,
        duration_ms -> Int4,
        response -> Text,
        error -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(webhook_attempts -> webhook_endpoints (endpoint_id));
diesel::joinable!(webhook_attempts -> webhook_messages (message_id));
diesel::allow_tables_to_appear_in_same_query!(
    webhook_attempts,
    webhook_endpoints,
    webhook_messages
);

diesel::table! {
    media (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        sha256 -> Text,
        kind -> Text,
        byte_size -> Int8,
        width -> Int4,
        height -> Int4,
        frames -> Int4,
        file_name -> Text,
        alt -> Text,
        decorative -> Bool,
        title -> Text,
        tags -> Array<Text>,
        focal_x -> Float4,
        focal_y -> Float4,
        crop_x -> Nullable<Int4>,
        crop_y -> Nullable<Int4>,
        crop_width -> Nullable<Int4>,
        crop_height -> Nullable<Int4>,
        status -> Text,
        error -> Nullable<Text>,
        placeholder -> Nullable<Text>,
        placeholder_uri -> Nullable<Text>,
        renditions -> Jsonb,
        presets -> Nullable<Text>,
        uploaded_by -> Nullable<Uuid>,
        deleted_at -> Nullable<Timestamptz>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    media_quotas (tenant_id) {
        tenant_id -> Uuid,
        max_bytes -> Int8,
        max_count -> Int4,
        used_bytes -> Int8,
        used_count -> Int4,
        allow_svg -> Bool,
        updated_at -> Timestamptz,
    }
}
