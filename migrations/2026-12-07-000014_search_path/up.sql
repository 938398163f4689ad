-- SECURITY DEFINER functions search `pg_temp` last. With `search_path =
-- public` alone PostgreSQL still searches the session's temporary schema
-- first, so a cms_app session could create a temporary table named like a
-- routed table (`domains`), grant it to the function's owner, and have a
-- routing function read it instead. Every such function of the schema gets
-- the safe path, whatever migration made it; the isolation tests check that
-- none is left without it.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

DO $$
DECLARE
    definer regprocedure;
BEGIN
    FOR definer IN
        SELECT p.oid::regprocedure
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' AND p.prosecdef
    LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = public, pg_temp', definer);
    END LOOP;
END
$$;

-- Nobody but the roles granted it creates objects in `public` (PostgreSQL 15
-- already starts so; older servers let every role create there).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
