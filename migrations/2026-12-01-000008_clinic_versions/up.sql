-- Clinic records carry a version like pages: single resources answer
-- `ETag: "v<version>"` and writes with a stale `If-Match` answer 412.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER TABLE clinics ADD COLUMN version integer NOT NULL DEFAULT 1;
ALTER TABLE specializations ADD COLUMN version integer NOT NULL DEFAULT 1;
ALTER TABLE service_categories ADD COLUMN version integer NOT NULL DEFAULT 1;
ALTER TABLE services ADD COLUMN version integer NOT NULL DEFAULT 1;
ALTER TABLE doctors ADD COLUMN version integer NOT NULL DEFAULT 1;
