-- The media library: uploaded images (originals and renditions live in object
-- storage under `{tenant}/{sha256}/{variant}`; this table holds what the api
-- knows of them), each tenant's quota, and doctors' photos as media.
-- Tenant-owned, under forced RLS like every other table.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

CREATE TABLE media (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    -- Hex SHA-256 of the uploaded bytes: the storage address, and how a
    -- second upload of the same bytes finds the first.
    sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    -- Decided from the bytes, never from the declared type or the name.
    kind text NOT NULL CHECK (kind IN ('jpeg', 'png', 'webp', 'gif', 'avif', 'svg')),
    byte_size bigint NOT NULL CHECK (byte_size > 0),
    -- As displayed: after the EXIF orientation is applied.
    width integer NOT NULL CHECK (width > 0),
    height integer NOT NULL CHECK (height > 0),
    frames integer NOT NULL DEFAULT 1 CHECK (frames >= 1),
    file_name text NOT NULL DEFAULT '' CHECK (length(file_name) <= 255),
    alt text NOT NULL DEFAULT '' CHECK (length(alt) <= 1000),
    -- A decorative image may be used without alt text (it gets alt="").
    decorative boolean NOT NULL DEFAULT false,
    title text NOT NULL DEFAULT '' CHECK (length(title) <= 300),
    tags text[] NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 30),
    -- Where fill crops centre, as fractions of the (cropped) image.
    focal_x real NOT NULL DEFAULT 0.5 CHECK (focal_x BETWEEN 0 AND 1),
    focal_y real NOT NULL DEFAULT 0.5 CHECK (focal_y BETWEEN 0 AND 1),
    -- An optional crop rectangle in displayed pixels, applied before
    -- everything else; all four or none.
    crop_x integer CHECK (crop_x >= 0),
    crop_y integer CHECK (crop_y >= 0),
    crop_width integer CHECK (crop_width > 0),
    crop_height integer CHECK (crop_height > 0),
    -- uploading: the quota is reserved and the original is being stored;
    -- processing: renditions are being made; ready; failed (error says why).
    status text NOT NULL DEFAULT 'uploading'
        CHECK (status IN ('uploading', 'processing', 'ready', 'failed')),
    error text CHECK (length(error) <= 2000),
    -- ThumbHash of the image, base64: the placeholder shown while it loads.
    placeholder text CHECK (length(placeholder) <= 100),
    -- The same placeholder as a `data:image/png` URI, made once by the job
    -- so that no list or publish decodes it again.
    placeholder_uri text CHECK (length(placeholder_uri) <= 8000),
    -- [{variant, format, width, height, bytes, fill?}] made with `presets`.
    renditions jsonb NOT NULL DEFAULT '[]',
    -- The version of the preset list the renditions were made with.
    presets text,
    uploaded_by uuid REFERENCES users (id) ON DELETE SET NULL,
    -- Set by a forced delete: the media is gone from the library, but the
    -- objects stay until no live page refers to them any more.
    deleted_at timestamptz,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((crop_x IS NULL) = (crop_y IS NULL)
        AND (crop_x IS NULL) = (crop_width IS NULL)
        AND (crop_x IS NULL) = (crop_height IS NULL))
);

CREATE UNIQUE INDEX media_tenant_sha256 ON media (tenant_id, sha256);
CREATE INDEX media_tenant_list ON media (tenant_id, id) WHERE deleted_at IS NULL;
CREATE INDEX media_tags ON media USING gin (tags);

-- What a tenant may store (originals: bytes and count) and what it stores.
-- Uploads reserve here in the transaction that inserts the media row, under
-- this row's lock, so parallel uploads cannot pass the limit together.
CREATE TABLE media_quotas (
    tenant_id uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    max_bytes bigint NOT NULL CHECK (max_bytes >= 0),
    max_count integer NOT NULL CHECK (max_count >= 0),
    used_bytes bigint NOT NULL DEFAULT 0 CHECK (used_bytes >= 0),
    used_count integer NOT NULL DEFAULT 0 CHECK (used_count >= 0),
    -- SVG uploads are refused unless the tenant turns them on; they are then
    -- sanitised and served under a restrictive CSP.
    allow_svg boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE media ENABLE ROW LEVEL SECURITY;
ALTER TABLE media FORCE ROW LEVEL SECURITY;
CREATE POLICY media_tenant_isolation ON media
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

ALTER TABLE media_quotas ENABLE ROW LEVEL SECURITY;
ALTER TABLE media_quotas FORCE ROW LEVEL SECURITY;
CREATE POLICY media_quotas_tenant_isolation ON media_quotas
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

GRANT SELECT, INSERT, UPDATE, DELETE ON media, media_quotas TO cms_app;

-- The tenants with media to clean up: uploads left `uploading` before
-- p_before (their process died while storing) or media deleted by force.
-- Only tenant ids leave it; the cleanup itself runs in each tenant's scope.
CREATE FUNCTION routing_media_cleanup_tenants(p_before timestamptz) RETURNS TABLE (tenant_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        SELECT DISTINCT tenant_id FROM media
        WHERE (status = 'uploading' AND created_at < p_before) OR deleted_at IS NOT NULL
    $$;
GRANT SELECT ON media TO cms_router;
ALTER FUNCTION routing_media_cleanup_tenants(timestamptz) OWNER TO cms_router;
REVOKE EXECUTE ON FUNCTION routing_media_cleanup_tenants(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION routing_media_cleanup_tenants(timestamptz) TO cms_app;

-- A doctor's photo as media. No foreign key: adding one would lock doctors
-- while it validates, and the api checks the id (under RLS) on every write;
-- a deleted media simply stops resolving.
ALTER TABLE doctors ADD COLUMN photo_media_id uuid;
