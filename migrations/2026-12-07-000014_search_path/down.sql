-- Back to `search_path = public`. CREATE on `public` is not given back to
-- every role: that was never this schema's intent, only an old default.
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
        EXECUTE format('ALTER FUNCTION %s SET search_path = public', definer);
    END LOOP;
END
$$;
