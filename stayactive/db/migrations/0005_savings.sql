-- Savings evaluation: versioned money parameters and design choice per tenant, and the care-record
-- facts the stay statistics need beyond the registry (admission mobility, recorded hospital
-- admissions). docs/savings-method.md explains how they are used.

CREATE FUNCTION savings_history_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is not allowed; record a new version instead',
        TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;

-- A tenant's money parameters, one row per version. A change is a new version, never an update,
-- so every savings figure can name the exact parameters it used.
CREATE TABLE savings_parameter_sets (
    tenant_id        text        NOT NULL REFERENCES tenants,
    version          integer     NOT NULL CHECK (version >= 1),
    created_at       timestamptz NOT NULL DEFAULT now(),
    created_by       text        NOT NULL CHECK (created_by <> ''),
    note             text        NOT NULL DEFAULT '',
    -- Beds actually closed: savings are then cash-releasing, otherwise freed capacity.
    beds_closed      boolean     NOT NULL DEFAULT false,
    beds_closed_note text        NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, version),
    CHECK (NOT beds_closed OR beds_closed_note <> '')
);

CREATE TABLE savings_parameters (
    tenant_id          text             NOT NULL,
    version            integer          NOT NULL,
    name               text             NOT NULL CHECK (name ~ '^[a-z][a-z0-9_]{1,62}$'),
    value              double precision NOT NULL,
    unit               text             NOT NULL CHECK (unit <> ''),
    source             text             NOT NULL CHECK (source <> ''),
    as_of              date             NOT NULL,
    low                double precision,
    high               double precision,
    needs_confirmation boolean          NOT NULL DEFAULT true,
    PRIMARY KEY (tenant_id, version, name),
    FOREIGN KEY (tenant_id, version) REFERENCES savings_parameter_sets (tenant_id, version),
    -- Every parameter of the model is a cost, a count, a share or a duration: none is negative.
    -- The application checks the finer rules (shares <= 1, positive budget) with clear messages;
    -- this is the last line of defence.
    CHECK (value >= 0 AND value < 'Infinity'),
    CHECK (low IS NULL OR (low >= 0 AND low <= value)),
    CHECK (high IS NULL OR (high >= value AND high < 'Infinity'))
);

CREATE TRIGGER savings_parameter_sets_append_only BEFORE UPDATE OR DELETE ON savings_parameter_sets
    FOR EACH ROW EXECUTE FUNCTION savings_history_is_append_only();
CREATE TRIGGER savings_parameters_append_only BEFORE UPDATE OR DELETE ON savings_parameters
    FOR EACH ROW EXECUTE FUNCTION savings_history_is_append_only();

-- Which comparison the tenant evaluates with, chosen before looking at the result. The newest
-- row is in force; older rows stay, so a change of design after the fact is visible.
CREATE TABLE savings_designs (
    design_choice_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id        text        NOT NULL REFERENCES tenants,
    design           text        NOT NULL CHECK (design IN
                         ('historical', 'concurrent', 'difference-in-differences')),
    chosen_at        timestamptz NOT NULL DEFAULT now(),
    chosen_by        text        NOT NULL CHECK (chosen_by <> ''),
    reason           text        NOT NULL CHECK (reason <> '')
);
CREATE INDEX savings_designs_tenant ON savings_designs (tenant_id, chosen_at DESC);

CREATE TRIGGER savings_designs_append_only BEFORE UPDATE OR DELETE ON savings_designs
    FOR EACH ROW EXECUTE FUNCTION savings_history_is_append_only();

-- Usual gait speed measured on admission (care record or physiotherapist), for the mobility
-- stratum of the evaluation; absent means "unknown".
CREATE TABLE stay_admission_mobility (
    stay_id        bigint PRIMARY KEY,
    tenant_id      text             NOT NULL,
    gait_speed_mps double precision NOT NULL CHECK (gait_speed_mps >= 0 AND gait_speed_mps <= 3),
    source         text             NOT NULL DEFAULT 'records-import',
    FOREIGN KEY (tenant_id, stay_id) REFERENCES stays (tenant_id, stay_id) ON DELETE CASCADE
);

-- A hospital admission after a municipal stay, as far as the care record knows of it (e.g. from
-- the hospital's admission message). Only recorded admissions count as hospital readmissions.
CREATE TABLE hospital_admissions (
    hospital_admission_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id             text        NOT NULL,
    resident_id           bigint      NOT NULL,
    admitted_at           timestamptz NOT NULL,
    -- The stay whose care-record row reported it: a re-import replaces what that row reported.
    reported_with_stay_id bigint      UNIQUE,
    source                text        NOT NULL DEFAULT 'records-import',
    FOREIGN KEY (tenant_id, resident_id) REFERENCES residents (tenant_id, resident_id),
    FOREIGN KEY (tenant_id, reported_with_stay_id) REFERENCES stays (tenant_id, stay_id)
        ON DELETE CASCADE
);
CREATE INDEX hospital_admissions_resident ON hospital_admissions (resident_id, admitted_at);
