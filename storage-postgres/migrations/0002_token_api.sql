-- tessera schema version 2: the token API (refresh families, single-use tokens) and
-- server-registered users.
-- Token kinds 5 (used refresh token), 6 (reset code) and 7 (challenge session) live in
-- `tokens` like the others; a family's tokens are found by this index.

CREATE INDEX tokens_family_idx ON tokens (family) WHERE family IS NOT NULL;
CREATE INDEX tokens_profile_kind_idx ON tokens (profile_id, kind);
DROP INDEX tokens_profile_idx;  -- (profile_id, kind) serves every lookup by profile

CREATE TABLE external_users (
    external_id text PRIMARY KEY,               -- the identity provider's id
    profile_id  uuid NOT NULL REFERENCES profiles (id),
    email       text,
    metadata    text,
    created_at  bigint NOT NULL,
    updated_at  bigint NOT NULL,
    CONSTRAINT external_users_profile_key UNIQUE (profile_id)
);
