SET lock_timeout = '5s';
SET statement_timeout = '60s';

DROP TABLE IF EXISTS payments;
DROP TABLE IF EXISTS reviews;
DROP TABLE IF EXISTS appointments;
DROP TABLE IF EXISTS patients;
DROP TABLE IF EXISTS schedule_exceptions;
DROP TABLE IF EXISTS doctor_schedules;
DROP TABLE IF EXISTS doctor_services;
DROP TABLE IF EXISTS service_clinics;
DROP TABLE IF EXISTS doctor_clinics;
DROP TABLE IF EXISTS doctors;
DROP TABLE IF EXISTS services;
DROP TABLE IF EXISTS service_categories;
DROP TABLE IF EXISTS specializations;
DROP TABLE IF EXISTS clinics;
-- btree_gist stays: it holds no data, and the up migration creates it only if missing.
