-- How long one partition of `entries` is: a month (the default) or a day. At a billion entries a
-- month, daily partitions let the daily prune drop whole days instead of deleting each day's rows
-- one by one as its cutoff sweeps through a month (docs/scale.md). Set by `serve --partition`
-- (`partition` under [server]); a change takes effect from the next period not yet covered.
CREATE TABLE partitioning (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    unit     text    NOT NULL CHECK (unit IN ('month', 'day'))
);
INSERT INTO partitioning (unit) VALUES ('month');
GRANT SELECT ON partitioning TO trailscope_app;

-- The partitions of the period (of the database's unit) holding `at_ms` and of the next one.
-- What existing partitions already cover of a period (made under another unit) is left as it is;
-- the rest is covered by new partitions, so no row of these periods lands in the default one.
CREATE OR REPLACE FUNCTION trailscope_ensure_partitions(at_ms bigint)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    unit text := coalesce((SELECT p.unit FROM partitioning p), 'month');
    step interval := ('1 ' || unit)::interval;
    first timestamptz := date_trunc(unit, to_timestamp(at_ms / 1000.0) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    period_lo bigint;
    period_hi bigint;
    cur bigint;
    b record;
BEGIN
    -- Replicas may all ask at once: one creates, the others find it there.
    PERFORM pg_advisory_xact_lock(hashtext('trailscope.partitions'));
    FOR i IN 0..1 LOOP
        period_lo := (extract(epoch FROM first + i * step) * 1000)::bigint;
        period_hi := (extract(epoch FROM first + (i + 1) * step) * 1000)::bigint;
        cur := period_lo;
        FOR b IN SELECT p.lo, p.hi FROM trailscope_partition_bounds() p
                  WHERE p.lo < period_hi AND p.hi > period_lo ORDER BY p.lo LOOP
            IF b.lo > cur THEN
                PERFORM trailscope_create_partition(cur, b.lo, unit, false);
            END IF;
            cur := greatest(cur, b.hi);
        END LOOP;
        IF cur < period_hi THEN
            PERFORM trailscope_create_partition(cur, period_hi, unit, cur = period_lo);
        END IF;
    END LOOP;
END
$$;

-- One partition for [lo, hi): named after its period (`entries_2026m11`, `entries_2026m11d29`) when
-- it is a whole one, after its first day otherwise. Rows of that range already in the default
-- partition (a clock that jumped) make PostgreSQL refuse it: then the range stays in the default
-- partition, with a warning, rather than failing the append that asked.
CREATE FUNCTION trailscope_create_partition(p_lo bigint, p_hi bigint, p_unit text, p_whole boolean)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    name text := 'entries_' || to_char(to_timestamp(p_lo / 1000.0) AT TIME ZONE 'UTC',
        CASE WHEN p_whole AND p_unit = 'month' THEN 'YYYY"m"MM' ELSE 'YYYY"m"MM"d"DD' END);
BEGIN
    EXECUTE format('CREATE TABLE %I PARTITION OF entries FOR VALUES FROM (%s) TO (%s)', name, p_lo, p_hi);
EXCEPTION WHEN check_violation THEN
    RAISE WARNING 'trailscope: no partition for received_at [%, %): the default partition holds rows of it', p_lo, p_hi;
END
$$;

REVOKE ALL ON FUNCTION trailscope_create_partition(bigint, bigint, text, boolean) FROM PUBLIC;

-- Sets the partition length. Partitions of the current or a later period that hold no row yet
-- (made under the old length, say by a `token create` before the first `serve --partition day`)
-- are dropped and made again under the new one; those with rows stay as they are.
CREATE FUNCTION trailscope_set_partition_unit(p_unit text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    now_ms bigint := (extract(epoch FROM clock_timestamp()) * 1000)::bigint;
    empty regclass[];
    rel regclass;
BEGIN
    IF (SELECT unit FROM partitioning) = p_unit THEN
        RETURN;
    END IF;
    UPDATE partitioning SET unit = p_unit;
    PERFORM pg_advisory_xact_lock(hashtext('trailscope.partitions'));
    empty := ARRAY(SELECT b.rel FROM trailscope_partition_bounds() b
                    WHERE b.hi > now_ms AND cardinality(trailscope_partition_tenants(b.rel)) = 0);
    IF cardinality(empty) > 0 AND trailscope_lock_entries() THEN
        FOREACH rel IN ARRAY empty LOOP
            EXECUTE format('DROP TABLE %s', rel);
        END LOOP;
    END IF;
    PERFORM trailscope_ensure_partitions(now_ms);
END
$$;
REVOKE ALL ON FUNCTION trailscope_set_partition_unit(text) FROM PUBLIC;
