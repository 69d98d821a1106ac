-- tessera schema version 3: the OAuth 2.1 / OpenID Connect provider.
-- Token kinds 8 (OAuth access), 9 (OAuth refresh), 10 (OAuth refresh, used), 11
-- (authorization code), 12 (code, exchanged) and 13 (browser session) live in `tokens` like
-- the others; an OAuth token's `family` is its grant's id (not a foreign key: token API
-- refresh families have no grant row). The RSA signing key is the `meta` row `rsa_key`.

CREATE TABLE oauth_clients (
    id             uuid PRIMARY KEY,             -- client_id
    owner_id       uuid NOT NULL REFERENCES profiles (id),
    name           text NOT NULL,
    confidential   boolean NOT NULL,
    redirect_uris  text[] NOT NULL,              -- in registration order
    scopes         text[] NOT NULL,              -- in registration order
    id_token_alg   smallint NOT NULL,            -- IdTokenAlg::tag: 1 RS256, 2 EdDSA
    secret         bytea CHECK (octet_length(secret) = 32),  -- SHA-256 of the secret
    pending_secret text,                         -- until the owner has read it once
    first_party    boolean NOT NULL,
    created_at     bigint NOT NULL,
    updated_at     bigint NOT NULL,
    version        bigint NOT NULL
);
CREATE INDEX oauth_clients_owner_idx ON oauth_clients (owner_id, created_at, id);

-- A grant's client is an application or, for a device's client_credentials, the device
-- itself (client_id = profile_id, a device profile; devices have no oauth_clients row), so
-- client_id is no foreign key: put_grant checks the client in its transaction, and
-- removing an application deletes its grants, their tokens and (the cascade) its consents
-- in one transaction (see src/oauth.rs).
CREATE TABLE oauth_grants (
    id             uuid PRIMARY KEY,             -- = the family of its tokens
    client_id      uuid NOT NULL,                -- oauth_clients (id), or = profile_id
    profile_id     uuid NOT NULL REFERENCES profiles (id),
    scopes         text[] NOT NULL,              -- in request order
    redirect_uri   text,
    code_challenge text,
    nonce          text,
    auth_time      bigint NOT NULL,
    created_at     bigint NOT NULL,
    expires_at     bigint NOT NULL
);
CREATE INDEX oauth_grants_client_idx ON oauth_grants (client_id);
CREATE INDEX oauth_grants_profile_client_idx ON oauth_grants (profile_id, client_id);
CREATE INDEX oauth_grants_expiry_idx ON oauth_grants (expires_at);

CREATE TABLE oauth_consents (
    profile_id uuid NOT NULL,
    client_id  uuid NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    scopes     text[] NOT NULL,
    granted_at bigint NOT NULL,
    PRIMARY KEY (profile_id, client_id)
);
CREATE INDEX oauth_consents_client_idx ON oauth_consents (client_id);
