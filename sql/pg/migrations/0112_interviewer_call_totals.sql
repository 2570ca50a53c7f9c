-- Each interviewer's calls in a wave, kept as running totals by the
-- transactions that record the calls, so that the supervision page does not
-- join every attempt of the wave to its case on each view (issue 17). A row
-- is exactly what dialer/interviewer-stats used to count from attempts:
-- calls, completes (AAPOR 1.1), refusals (2.1…), first and last call.
-- Attempts are only ever inserted; an update or delete of one recounts the
-- totals it touched from attempts, under a lock that keeps new calls out
-- meanwhile, and a truncate empties them. An INSERT … ON CONFLICT DO UPDATE
-- locks the row it adds to, so concurrent calls add up exactly.
CREATE TABLE interviewer_call_totals (
    wave_id         bigint NOT NULL REFERENCES waves(id),
    interviewer_id  bigint NOT NULL REFERENCES users(id),
    calls           bigint NOT NULL CHECK (calls > 0),
    completes       bigint NOT NULL,
    refusals        bigint NOT NULL,
    first_at        timestamptz NOT NULL,
    last_at         timestamptz NOT NULL,
    PRIMARY KEY (wave_id, interviewer_id)
);

CREATE FUNCTION interviewer_call_totals_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Sorted, so that two statements adding to the same rows lock them in
    -- the same order.
    INSERT INTO interviewer_call_totals AS t (wave_id, interviewer_id, calls, completes, refusals, first_at, last_at)
    SELECT c.wave_id, n.interviewer_id, count(*), count(*) FILTER (WHERE n.aapor_code = '1.1'),
           count(*) FILTER (WHERE n.aapor_code LIKE '2.1%'), min(n.created_at), max(n.created_at)
    FROM added n JOIN cases c ON c.id = n.case_id
    GROUP BY c.wave_id, n.interviewer_id
    ORDER BY c.wave_id, n.interviewer_id
    ON CONFLICT (wave_id, interviewer_id) DO UPDATE
    SET calls = t.calls + excluded.calls, completes = t.completes + excluded.completes,
        refusals = t.refusals + excluded.refusals,
        first_at = least(t.first_at, excluded.first_at), last_at = greatest(t.last_at, excluded.last_at);
    RETURN NULL;
END $$;

CREATE FUNCTION interviewer_call_totals_recount() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- No call is recorded while the totals are recounted: the recount's
    -- snapshot, taken after the lock, sees every call that will count.
    LOCK TABLE attempts IN SHARE ROW EXCLUSIVE MODE;
    CREATE TEMP TABLE IF NOT EXISTS interviewer_call_totals_touched (wave_id bigint, interviewer_id bigint) ON COMMIT DROP;
    TRUNCATE interviewer_call_totals_touched;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO interviewer_call_totals_touched SELECT c.wave_id, o.interviewer_id FROM removed o JOIN cases c ON c.id = o.case_id;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        INSERT INTO interviewer_call_totals_touched SELECT c.wave_id, n.interviewer_id FROM added n JOIN cases c ON c.id = n.case_id;
    END IF;
    DELETE FROM interviewer_call_totals t USING interviewer_call_totals_touched x
    WHERE t.wave_id = x.wave_id AND t.interviewer_id = x.interviewer_id;
    INSERT INTO interviewer_call_totals (wave_id, interviewer_id, calls, completes, refusals, first_at, last_at)
    SELECT c.wave_id, a.interviewer_id, count(*), count(*) FILTER (WHERE a.aapor_code = '1.1'),
           count(*) FILTER (WHERE a.aapor_code LIKE '2.1%'), min(a.created_at), max(a.created_at)
    FROM attempts a JOIN cases c ON c.id = a.case_id
    WHERE (c.wave_id, a.interviewer_id) IN (SELECT wave_id, interviewer_id FROM interviewer_call_totals_touched)
    GROUP BY c.wave_id, a.interviewer_id;
    RETURN NULL;
END $$;

CREATE FUNCTION interviewer_call_totals_clear() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE interviewer_call_totals;
    RETURN NULL;
END $$;

CREATE TRIGGER attempts_totals_insert AFTER INSERT ON attempts
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION interviewer_call_totals_add();
CREATE TRIGGER attempts_totals_update AFTER UPDATE ON attempts
    REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION interviewer_call_totals_recount();
CREATE TRIGGER attempts_totals_delete AFTER DELETE ON attempts
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION interviewer_call_totals_recount();
CREATE TRIGGER attempts_totals_truncate AFTER TRUNCATE ON attempts
    FOR EACH STATEMENT EXECUTE FUNCTION interviewer_call_totals_clear();

-- The calls already made.
INSERT INTO interviewer_call_totals (wave_id, interviewer_id, calls, completes, refusals, first_at, last_at)
SELECT c.wave_id, a.interviewer_id, count(*), count(*) FILTER (WHERE a.aapor_code = '1.1'),
       count(*) FILTER (WHERE a.aapor_code LIKE '2.1%'), min(a.created_at), max(a.created_at)
FROM attempts a JOIN cases c ON c.id = a.case_id
GROUP BY c.wave_id, a.interviewer_id;
