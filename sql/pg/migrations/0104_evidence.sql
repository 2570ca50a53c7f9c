-- Evidence in the audit chain (docs/evidence.md): every interview, every
-- districts or margins upload and every publication can be checked against
-- what the hash-chained audit log recorded, and the server's role may write
-- none of it behind the log's back.

-- 1. Interview evidence -------------------------------------------------------

-- One row per stored version of an interview: the SHA-256 of its content
-- (see survey/insert-interview for the exact text hashed), written in the
-- transaction that stores or changes it. Appending to the audit chain takes
-- its lock until the commit, which would make every save in the city wait
-- for every other; these rows take no lock. The sealer folds them into the
-- chain soon after (an evidence-seal entry lists each one), in the order of
-- xid: every row of a transaction whose xid is below the oldest running one
-- is committed or gone for good, so a seal covering [from, to) of xids is
-- complete and never grows later. Append-only like the audit log. Any
-- statement that changes a column of an interview the hash covers must
-- move its row_version on and record the new version here in its
-- transaction (survey.RecordEvidence, with an interview-change entry), or
-- verification reports the interview as changed behind the application's
-- back.
CREATE TABLE interview_evidence (
    id            bigserial PRIMARY KEY,
    interview_id  bigint NOT NULL,
    version       int NOT NULL,
    hash          text NOT NULL,
    xid           xid8 NOT NULL DEFAULT pg_current_xact_id(),
    recorded_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX interview_evidence_xid ON interview_evidence (xid);
CREATE TRIGGER interview_evidence_no_update BEFORE UPDATE OR DELETE ON interview_evidence
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER interview_evidence_no_truncate BEFORE TRUNCATE ON interview_evidence
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER interview_changes_no_truncate BEFORE TRUNCATE ON interview_changes
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- 2. Signatures of downloads --------------------------------------------------

-- A download streams as it is made, so its signature exists only once the
-- last byte has left. It is kept here, per user and file, for the second
-- link of the page to hand out: the signature of the copy that user last
-- downloaded.
CREATE TABLE download_signatures (
    user_id     bigint NOT NULL REFERENCES users(id),
    kind        text NOT NULL,
    wave        text NOT NULL,
    signature   jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, kind, wave)
);

-- 3. The bulk load of a telephone frame as the application's role -----------

-- The application's role owns no table, so it cannot drop and rebuild the
-- frame's indexes or set its checksum trigger aside itself. These functions
-- do it with the owner's rights, only for a transaction that holds the
-- frame locked against other writers (a bulk load, sampler/frame_bulkload.go),
-- and the restore only from the list its own suspend wrote: a table of that
-- name made by anyone else is refused, since its statements would run with
-- the owner's rights.
CREATE OR REPLACE FUNCTION phone_frame_holds_lock() RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    SELECT EXISTS (SELECT 1 FROM pg_locks
                   WHERE locktype = 'relation' AND relation = 'public.phone_frame'::regclass
                     AND pid = pg_backend_pid() AND granted
                     AND mode IN ('ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock'))
$$;

CREATE OR REPLACE FUNCTION phone_frame_suspend_indexes() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    r record;
BEGIN
    IF NOT phone_frame_holds_lock() THEN
        RAISE EXCEPTION 'phone_frame_suspend_indexes: lock phone_frame first';
    END IF;
    CREATE TEMP TABLE phone_frame_suspended_indexes ON COMMIT DROP AS
    SELECT i.oid::regclass::text AS index_name, pg_get_indexdef(i.oid) AS index_def,
           c.conname AS constraint_name, pg_get_constraintdef(c.oid) AS constraint_def
    FROM pg_index x
    JOIN pg_class i ON i.oid = x.indexrelid
    LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid
    WHERE x.indrelid = 'phone_frame'::regclass
    UNION ALL
    SELECT NULL, NULL, c.conname, pg_get_constraintdef(c.oid)
    FROM pg_constraint c
    WHERE c.conrelid = 'phone_frame'::regclass AND c.contype = 'f';
    FOR r IN SELECT * FROM phone_frame_suspended_indexes LOOP
        IF r.constraint_name IS NOT NULL THEN
            EXECUTE format('ALTER TABLE phone_frame DROP CONSTRAINT %I', r.constraint_name);
        ELSE
            EXECUTE format('DROP INDEX %s', r.index_name);
        END IF;
    END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION phone_frame_restore_indexes() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    r record;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_class c
                   WHERE c.oid = to_regclass('pg_temp.phone_frame_suspended_indexes')
                     AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)) THEN
        RAISE EXCEPTION 'phone_frame_restore_indexes: no indexes were suspended in this transaction';
    END IF;
    FOR r IN SELECT * FROM pg_temp.phone_frame_suspended_indexes
             ORDER BY index_name IS NULL, constraint_name IS NULL, index_name, constraint_name LOOP
        IF r.constraint_name IS NOT NULL THEN
            EXECUTE format('ALTER TABLE phone_frame ADD CONSTRAINT %I %s', r.constraint_name, r.constraint_def);
        ELSE
            EXECUTE r.index_def;
        END IF;
    END LOOP;
    DROP TABLE pg_temp.phone_frame_suspended_indexes;
END
$$;

-- The insert trigger of the frame's checksum is set aside only for a load
-- into the empty frame, which folds the digest of its rows itself.
CREATE FUNCTION phone_frame_set_version_trigger(enabled boolean) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF enabled THEN
        ALTER TABLE phone_frame ENABLE TRIGGER phone_frame_version_ins;
        RETURN;
    END IF;
    IF NOT phone_frame_holds_lock() OR EXISTS (SELECT 1 FROM phone_frame) THEN
        RAISE EXCEPTION 'phone_frame_set_version_trigger: only for a load into the empty frame, holding its lock';
    END IF;
    ALTER TABLE phone_frame DISABLE TRIGGER phone_frame_version_ins;
END
$$;
REVOKE EXECUTE ON FUNCTION phone_frame_suspend_indexes(), phone_frame_restore_indexes(),
    phone_frame_set_version_trigger(boolean) FROM PUBLIC;

-- 4. What was there before ----------------------------------------------------

-- A database that already holds data gets one chained entry recording it as
-- found (districts, margins, publications) and an evidence row for every
-- interview, so that verification starts from here. The interview hash and
-- the chain's hash are the same expressions as the named queries'
-- (survey/insert-interview, audit/append); a test holds them equal.
SELECT pg_advisory_xact_lock(7468);

INSERT INTO interview_evidence (interview_id, version, hash)
SELECT id, row_version,
       /* interview-hash */ encode(sha256(convert_to(jsonb_build_array('interview/1', id, wave_id, case_id, external_id,
           questionnaire_id, interviewer_id, district_code, mode, psu, encode(float8send(weight), 'hex'), sex, age_group,
           answers, source, (extract(epoch FROM started_at) * 1000000)::bigint, (extract(epoch FROM completed_at) * 1000000)::bigint,
           partial, review_status, row_version)::text, 'UTF8')), 'hex') /* end */
FROM interviews ORDER BY id;

WITH last AS (SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1),
     new AS (SELECT coalesce((SELECT seq FROM last), 0) + 1 AS seq,
                    coalesce((SELECT hash FROM last), '') AS prev,
                    date_trunc('microseconds', clock_timestamp()) AS at),
     state AS (SELECT jsonb_build_object(
         'districts', coalesce((SELECT jsonb_object_agg(code, jsonb_build_array(name, population)) FROM districts), '{}'),
         'margins', coalesce((SELECT jsonb_object_agg(district_code || '/' || variable || '/' || category, population) FROM margins), '{}'),
         'publications', coalesce((SELECT jsonb_object_agg(p.id::text, jsonb_build_object(
             'wave', w.name,
             'sha256', encode(sha256(convert_to(p.long_csv, 'UTF8')), 'hex'),
             'weights_sha256', /* weights-hash */ (SELECT encode(sha256(convert_to(coalesce(string_agg(pw.interview_id || ':' || encode(float8send(pw.weight), 'hex'), E'\n' ORDER BY pw.interview_id), ''), 'UTF8')), 'hex')
                                FROM published_weights pw WHERE pw.publication_id = p.id) /* end */))
             FROM score_publications p JOIN waves w ON w.id = p.wave_id), '{}'),
         'interviews', (SELECT count(*) FROM interviews),
         'evidence_max_id', (SELECT coalesce(max(id), 0) FROM interview_evidence)) AS details)
INSERT INTO audit_log (seq, at, actor_id, actor, action, subject, details, prev_hash, hash)
SELECT seq, at, NULL, 'minyi migrate', 'evidence-baseline', '', details, prev,
       encode(sha256(convert_to(concat_ws(E'\n', prev, seq::text, (extract(epoch FROM at) * 1000000)::bigint::text,
              '', 'minyi migrate', 'evidence-baseline', '', details::text), 'UTF8')), 'hex')
FROM new, state
WHERE EXISTS (SELECT 1 FROM districts) OR EXISTS (SELECT 1 FROM margins) OR EXISTS (SELECT 1 FROM interviews)
   OR EXISTS (SELECT 1 FROM score_publications);
