-- tessera schema version 6: the replay guard of signed messages, shared by every node.
-- A row is a claimed nonce (key: SHA-256 over the sender and the nonce, see core's
-- Engine::claim_nonce); a claim whose expires_at is at or before now no longer counts and
-- is taken over by the next claim, or deleted by the purge (src/maintenance.rs).
-- (The throttle's reservations need no new column: they lock the `throttle` row.)

CREATE TABLE nonces (
    key        bytea PRIMARY KEY CHECK (octet_length(key) = 32),
    expires_at bigint NOT NULL
);
CREATE INDEX nonces_expiry_idx ON nonces (expires_at);
