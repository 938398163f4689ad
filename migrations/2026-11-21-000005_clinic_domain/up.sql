-- Clinic domain: clinics, specializations, service categories (a tree),
-- services, doctors, weekly schedules and their exceptions, patients,
-- appointments (never overlapping for a doctor), reviews and payments.
-- Every table is tenant-owned and isolated by forced row-level security.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE clinics (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    slug text NOT NULL,
    name text NOT NULL,
    address text NOT NULL DEFAULT '',
    phone text NOT NULL DEFAULT '',
    email text NOT NULL DEFAULT '',
    -- {"mon": [["09:00","18:00"]], ...}: what the clinic shows as opening hours.
    working_hours jsonb NOT NULL DEFAULT '{}'::jsonb,
    latitude double precision,
    longitude double precision,
    -- IANA name; slots are computed and shown in it.
    time_zone text NOT NULL,
    is_active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT clinics_tenant_slug UNIQUE (tenant_id, slug),
    CONSTRAINT clinics_coordinates CHECK ((latitude IS NULL) = (longitude IS NULL)
        AND (latitude IS NULL OR (latitude BETWEEN -90 AND 90 AND longitude BETWEEN -180 AND 180)))
);

CREATE TABLE specializations (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    slug text NOT NULL,
    name text NOT NULL,
    description text NOT NULL DEFAULT '',
    icon text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT specializations_tenant_slug UNIQUE (tenant_id, slug)
);

CREATE TABLE service_categories (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    parent_id uuid REFERENCES service_categories (id) ON DELETE CASCADE,
    slug text NOT NULL,
    name text NOT NULL,
    position integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT service_categories_tenant_slug UNIQUE (tenant_id, slug),
    CONSTRAINT service_categories_not_own_parent CHECK (parent_id <> id)
);
CREATE INDEX service_categories_parent_idx ON service_categories (parent_id);

CREATE TABLE services (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    category_id uuid NOT NULL REFERENCES service_categories (id) ON DELETE RESTRICT,
    slug text NOT NULL,
    name text NOT NULL,
    description text NOT NULL DEFAULT '',
    -- Money in minor units (kopecks, cents): no floating point.
    price_minor bigint NOT NULL CHECK (price_minor >= 0),
    currency text NOT NULL DEFAULT 'RUB',
    duration_minutes integer NOT NULL CHECK (duration_minutes BETWEEN 5 AND 720),
    preparation text NOT NULL DEFAULT '',
    is_active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT services_tenant_slug UNIQUE (tenant_id, slug)
);
CREATE INDEX services_category_idx ON services (category_id);

CREATE TABLE doctors (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    -- The doctor's own account, when they sign in (IsDoctorOwner).
    user_id uuid REFERENCES users (id) ON DELETE SET NULL,
    specialization_id uuid NOT NULL REFERENCES specializations (id) ON DELETE RESTRICT,
    slug text NOT NULL,
    name text NOT NULL,
    photo text,
    bio text NOT NULL DEFAULT '',
    experience_years integer NOT NULL DEFAULT 0 CHECK (experience_years BETWEEN 0 AND 80),
    education text NOT NULL DEFAULT '',
    certificates jsonb NOT NULL DEFAULT '[]'::jsonb,
    consultation_price_minor bigint CHECK (consultation_price_minor >= 0),
    -- Sum and count of published review ratings, kept by moderation in the
    -- same transaction (the rating shown is their quotient: exact, no rounding drift).
    rating_total integer NOT NULL DEFAULT 0 CHECK (rating_total >= 0),
    reviews_count integer NOT NULL DEFAULT 0 CHECK (reviews_count >= 0),
    is_active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT doctors_tenant_slug UNIQUE (tenant_id, slug),
    CONSTRAINT doctors_tenant_user UNIQUE (tenant_id, user_id)
);
CREATE INDEX doctors_specialization_idx ON doctors (specialization_id);

CREATE TABLE doctor_clinics (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    doctor_id uuid NOT NULL REFERENCES doctors (id) ON DELETE CASCADE,
    clinic_id uuid NOT NULL REFERENCES clinics (id) ON DELETE CASCADE,
    PRIMARY KEY (doctor_id, clinic_id)
);
CREATE INDEX doctor_clinics_clinic_idx ON doctor_clinics (clinic_id);

CREATE TABLE service_clinics (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    service_id uuid NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    clinic_id uuid NOT NULL REFERENCES clinics (id) ON DELETE CASCADE,
    PRIMARY KEY (service_id, clinic_id)
);
CREATE INDEX service_clinics_clinic_idx ON service_clinics (clinic_id);

CREATE TABLE doctor_services (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    doctor_id uuid NOT NULL REFERENCES doctors (id) ON DELETE CASCADE,
    service_id uuid NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    PRIMARY KEY (doctor_id, service_id)
);
CREATE INDEX doctor_services_service_idx ON doctor_services (service_id);

CREATE TABLE doctor_schedules (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    doctor_id uuid NOT NULL REFERENCES doctors (id) ON DELETE CASCADE,
    clinic_id uuid NOT NULL REFERENCES clinics (id) ON DELETE CASCADE,
    -- ISO: 1 = Monday ... 7 = Sunday.
    day_of_week integer NOT NULL CHECK (day_of_week BETWEEN 1 AND 7),
    start_time time NOT NULL,
    end_time time NOT NULL,
    is_active boolean NOT NULL DEFAULT true,
    CONSTRAINT doctor_schedules_order CHECK (start_time < end_time)
);
CREATE INDEX doctor_schedules_doctor_idx ON doctor_schedules (doctor_id);

CREATE TABLE schedule_exceptions (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    doctor_id uuid NOT NULL REFERENCES doctors (id) ON DELETE CASCADE,
    -- NULL: every clinic of the doctor.
    clinic_id uuid REFERENCES clinics (id) ON DELETE CASCADE,
    date date NOT NULL,
    -- NULL times: the whole day.
    start_time time,
    end_time time,
    kind text NOT NULL CHECK (kind IN ('off', 'extra')),
    reason text NOT NULL DEFAULT '',
    CONSTRAINT schedule_exceptions_times CHECK ((start_time IS NULL) = (end_time IS NULL)
        AND (start_time IS NULL OR start_time < end_time)),
    CONSTRAINT schedule_exceptions_extra_has_times CHECK (kind = 'off' OR start_time IS NOT NULL)
);
CREATE INDEX schedule_exceptions_doctor_date_idx ON schedule_exceptions (doctor_id, date);

CREATE TABLE patients (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    -- The patient's account; NULL for a guest who booked with name and phone.
    user_id uuid REFERENCES users (id) ON DELETE SET NULL,
    name text NOT NULL,
    -- E.164, normalised by the api.
    phone text NOT NULL,
    birth_date date,
    gender text CHECK (gender IN ('female', 'male', 'other')),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT patients_tenant_phone UNIQUE (tenant_id, phone),
    CONSTRAINT patients_tenant_user UNIQUE (tenant_id, user_id)
);

CREATE TABLE appointments (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    site_id uuid REFERENCES sites (id) ON DELETE SET NULL,
    patient_id uuid NOT NULL REFERENCES patients (id) ON DELETE RESTRICT,
    doctor_id uuid NOT NULL REFERENCES doctors (id) ON DELETE RESTRICT,
    service_id uuid NOT NULL REFERENCES services (id) ON DELETE RESTRICT,
    clinic_id uuid NOT NULL REFERENCES clinics (id) ON DELETE RESTRICT,
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    status text NOT NULL DEFAULT 'scheduled'
        CHECK (status IN ('scheduled', 'confirmed', 'completed', 'cancelled', 'no_show')),
    payment_status text NOT NULL DEFAULT 'pending'
        CHECK (payment_status IN ('pending', 'paid', 'refunded')),
    -- Copied at booking: later price changes do not touch booked visits.
    price_minor bigint NOT NULL CHECK (price_minor >= 0),
    currency text NOT NULL,
    notes text NOT NULL DEFAULT '',
    idempotency_key text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT appointments_order CHECK (starts_at < ends_at),
    -- The double-booking rule, enforced by the database under any concurrency.
    CONSTRAINT appointments_no_overlap EXCLUDE USING gist (
        doctor_id WITH =, tstzrange(starts_at, ends_at) WITH &&
    ) WHERE (status <> 'cancelled')
);
CREATE UNIQUE INDEX appointments_idempotency_key ON appointments (tenant_id, idempotency_key);
CREATE INDEX appointments_patient_idx ON appointments (patient_id, starts_at);
CREATE INDEX appointments_doctor_idx ON appointments (doctor_id, starts_at);

CREATE TABLE reviews (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    patient_id uuid NOT NULL REFERENCES patients (id) ON DELETE CASCADE,
    doctor_id uuid NOT NULL REFERENCES doctors (id) ON DELETE CASCADE,
    appointment_id uuid REFERENCES appointments (id) ON DELETE SET NULL,
    rating integer NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment text NOT NULL,
    is_verified boolean NOT NULL DEFAULT false,
    is_published boolean NOT NULL DEFAULT false,
    moderated_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reviews_doctor_idx ON reviews (doctor_id, is_published, created_at);

CREATE TABLE payments (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    appointment_id uuid NOT NULL REFERENCES appointments (id) ON DELETE CASCADE,
    amount_minor bigint NOT NULL CHECK (amount_minor >= 0),
    currency text NOT NULL,
    status text NOT NULL CHECK (status IN ('pending', 'paid', 'refunded')),
    provider text NOT NULL DEFAULT 'manual',
    provider_reference text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payments_appointment_idx ON payments (appointment_id);

-- Isolation: every table above belongs to one tenant, enforced for every role
-- (FORCE), like the rest of the schema.
DO $$
DECLARE
    name text;
BEGIN
    FOREACH name IN ARRAY ARRAY[
        'clinics', 'specializations', 'service_categories', 'services', 'doctors',
        'doctor_clinics', 'service_clinics', 'doctor_services', 'doctor_schedules',
        'schedule_exceptions', 'patients', 'appointments', 'reviews', 'payments'
    ] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', name);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', name);
        EXECUTE format(
            'CREATE POLICY %I ON %I USING (tenant_id = app_current_tenant()) '
            'WITH CHECK (tenant_id = app_current_tenant())',
            name || '_tenant_isolation', name);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO cms_app', name);
    END LOOP;
END
$$;
