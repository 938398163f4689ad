SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER TABLE doctors DROP COLUMN IF EXISTS version;
ALTER TABLE services DROP COLUMN IF EXISTS version;
ALTER TABLE service_categories DROP COLUMN IF EXISTS version;
ALTER TABLE specializations DROP COLUMN IF EXISTS version;
ALTER TABLE clinics DROP COLUMN IF EXISTS version;
