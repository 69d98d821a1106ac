-- tessera schema version 1: every aggregate of tessera_core::store as a table.
-- Times are i64 seconds since the Unix epoch; versions and counters are bigint.
-- Numbers of enums (kind, state, token kind, command status) are those of the redb codec.

CREATE TABLE meta (
    name  text PRIMARY KEY,
    value bytea NOT NULL
);

CREATE TABLE profiles (
    id                 uuid PRIMARY KEY,
    -- creation order of an owner's devices
    seq                bigint GENERATED ALWAYS AS IDENTITY,
    kind               smallint NOT NULL,   -- 1 user, 2 device
    state              smallint NOT NULL,   -- 1 incomplete, 2 pending, 3 active, 4 rejected, 5 removed
    username           text NOT NULL,       -- canonical
    password_hash      text,
    password_temporary boolean NOT NULL,
    public_key         bytea CHECK (octet_length(public_key) = 32),
    owner_id           uuid,
    environments       text[] NOT NULL,
    device_id          uuid,                -- the device fields are set together or not at all
    device_roles       smallint,
    device_name        text,
    device_meta        text,
    created_at         bigint NOT NULL,
    updated_at         bigint NOT NULL,
    version            bigint NOT NULL,
    -- uniqueness is the store's job: a concurrent second claim fails on these constraints
    CONSTRAINT profiles_username_key UNIQUE (username),
    CONSTRAINT profiles_public_key_key UNIQUE (public_key),
    CONSTRAINT profiles_device_fields CHECK ((device_id IS NULL) = (device_roles IS NULL))
);
CREATE INDEX profiles_owner_idx ON profiles (owner_id, seq) WHERE owner_id IS NOT NULL;

CREATE TABLE tokens (
    digest     bytea PRIMARY KEY CHECK (octet_length(digest) = 32),
    profile_id uuid NOT NULL REFERENCES profiles (id),
    kind       smallint NOT NULL,           -- TokenKind::tag
    issued_at  bigint NOT NULL,
    expires_at bigint NOT NULL,
    family     uuid
);
CREATE INDEX tokens_profile_idx ON tokens (profile_id);
CREATE INDEX tokens_expiry_idx ON tokens (expires_at);

CREATE TABLE qr_tokens (
    digest      bytea PRIMARY KEY CHECK (octet_length(digest) = 32),
    owner_id    uuid NOT NULL REFERENCES profiles (id),
    issued_at   bigint NOT NULL,
    expires_at  bigint NOT NULL,
    device_name text
);
CREATE INDEX qr_tokens_owner_idx ON qr_tokens (owner_id);
CREATE INDEX qr_tokens_expiry_idx ON qr_tokens (expires_at);

CREATE TABLE commands (
    id            uuid PRIMARY KEY,
    profile_id    uuid,
    status        smallint NOT NULL,        -- 1 pending, 2 succeeded, 3 failed
    body          text NOT NULL,
    result_names  text[] NOT NULL,          -- ordered pairs: names[i] = values[i]
    result_values text[] NOT NULL,
    created_at    bigint NOT NULL,
    expires_at    bigint NOT NULL,
    CONSTRAINT commands_result_pairs CHECK (cardinality(result_names) = cardinality(result_values))
);
CREATE INDEX commands_expiry_idx ON commands (expires_at);

CREATE TABLE throttle (
    key          text PRIMARY KEY,
    failures     bigint NOT NULL CHECK (failures BETWEEN 0 AND 4294967295),
    last_failure bigint NOT NULL
);

CREATE TABLE api_keys (
    digest     bytea PRIMARY KEY CHECK (octet_length(digest) = 32),
    name       text NOT NULL,
    created_at bigint NOT NULL
);
