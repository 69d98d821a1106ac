-- tessera schema version 4: directories (organisations of profiles with roles and
-- invitations). Roles are core's DirectoryRole::tag: 1 owner, 2 admin, 3 member.
-- Removing a directory removes its memberships and invitations with it (the cascades), in
-- the one DELETE of src/directory.rs; profiles are never touched.

CREATE TABLE directories (
    id              uuid PRIMARY KEY,
    name            text NOT NULL,
    short_name      text NOT NULL CONSTRAINT directories_short_name_key UNIQUE,  -- canonical
    owner_id        uuid NOT NULL REFERENCES profiles (id),
    meta            text,                      -- a JSON object's text (<= 4 KiB)
    created_at      bigint NOT NULL,
    updated_at      bigint NOT NULL,
    version         bigint NOT NULL,
    last_member_seq bigint NOT NULL            -- the last seq given to a membership
);

CREATE TABLE directory_memberships (
    directory_id         uuid NOT NULL REFERENCES directories (id) ON DELETE CASCADE,
    profile_id           uuid NOT NULL REFERENCES profiles (id),
    role                 smallint NOT NULL CHECK (role IN (1, 2, 3)),
    given_name           text,
    family_name          text,
    meta                 text,                 -- a JSON object's text (<= 4 KiB)
    created_by_directory boolean NOT NULL,
    joined_at            bigint NOT NULL,
    seq                  bigint NOT NULL,      -- the listing order, from last_member_seq
    version              bigint NOT NULL,
    PRIMARY KEY (directory_id, profile_id),
    CONSTRAINT directory_memberships_seq_key UNIQUE (directory_id, seq)
);
CREATE INDEX directory_memberships_profile_idx ON directory_memberships (profile_id);

CREATE TABLE directory_invitations (
    id           uuid PRIMARY KEY,
    directory_id uuid NOT NULL REFERENCES directories (id) ON DELETE CASCADE,
    username     text NOT NULL,                -- canonical
    invitee_id   uuid REFERENCES profiles (id), -- NULL: no user had the name
    role         smallint NOT NULL CHECK (role IN (2, 3)),
    invited_by   uuid NOT NULL,
    created_at   bigint NOT NULL,
    expires_at   bigint NOT NULL
);
CREATE INDEX directory_invitations_directory_idx ON directory_invitations (directory_id, expires_at);
CREATE INDEX directory_invitations_invitee_idx ON directory_invitations (invitee_id);
CREATE INDEX directory_invitations_expiry_idx ON directory_invitations (expires_at);
