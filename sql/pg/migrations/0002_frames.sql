-- Household frame for door-to-door draws, and the record of every frame
-- import so that admins can see what each file did.

-- Households are listed street → community → household. ordinal is dense
-- 1..N within a community, so that systematic sampling in a community picks
-- households by position without reading the others. street_size and
-- community_size are the PPS size measures of the enclosing clusters; they
-- are repeated on every row of the cluster and an import keeps them
-- consistent.
CREATE TABLE household_frame (
    id              bigserial PRIMARY KEY,
    district_code   text NOT NULL REFERENCES districts(code),
    street          text NOT NULL CHECK (street <> ''),
    community       text NOT NULL CHECK (community <> ''),
    household_id    text NOT NULL CHECK (household_id <> ''),
    address         text NOT NULL CHECK (address <> ''),
    street_size     bigint CHECK (street_size > 0),
    community_size  bigint CHECK (community_size > 0),
    ordinal         bigint NOT NULL CHECK (ordinal > 0),
    UNIQUE (district_code, household_id)
);
CREATE UNIQUE INDEX household_frame_community_ordinal ON household_frame (district_code, street, community, ordinal);

-- One row per import or random-digit generation, including failed ones
-- (status 'failed', nothing imported). problems holds at most the first
-- 1000 problems as [{"line": N, "reason": "..."}].
CREATE TABLE frame_imports (
    id           bigserial PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN ('phone','household','rdd')),
    file_name    text NOT NULL DEFAULT '',
    encoding     text NOT NULL DEFAULT '',
    status       text NOT NULL CHECK (status IN ('ok','failed')),
    error        text,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz NOT NULL DEFAULT now(),
    read         bigint NOT NULL DEFAULT 0,
    kept         bigint NOT NULL DEFAULT 0,
    fixed        bigint NOT NULL DEFAULT 0,
    rejected     bigint NOT NULL DEFAULT 0,
    duplicates   bigint NOT NULL DEFAULT 0,
    problems     jsonb NOT NULL DEFAULT '[]',
    created_by   bigint REFERENCES users(id)
);
CREATE INDEX frame_imports_started ON frame_imports (started_at DESC);

-- Shapes of the staging tables that an import creates as temporary tables
-- (CREATE TEMP TABLE x (LIKE x)), which shadow these in the import's
-- session. They exist so that the import's named queries can be checked at
-- boot; CHECK (false) (not copied by LIKE) keeps them empty for ever.
CREATE TABLE frame_phone_rows (
    line           int NOT NULL,
    phone          text NOT NULL,
    district_code  text,
    fixed          boolean NOT NULL,
    CHECK (false)
);

CREATE TABLE frame_household_rows (
    line            int NOT NULL,
    district_code   text NOT NULL,
    street          text NOT NULL,
    community       text NOT NULL,
    household_id    text NOT NULL,
    address         text NOT NULL,
    street_size     bigint,
    community_size  bigint,
    dup_of          int,
    in_frame        boolean NOT NULL DEFAULT false,
    conflict        boolean NOT NULL DEFAULT false,
    CHECK (false)
);
