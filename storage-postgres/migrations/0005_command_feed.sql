-- tessera schema version 5: the command feed (src/feed.rs). Every command insert notifies
-- the listening nodes, from its own transaction: PostgreSQL delivers a NOTIFY at commit and
-- drops it on rollback, so an aborted change pushes nothing. The payload is small (NOTIFY
-- payloads are limited to 8000 bytes): '<xid> <xmin> <id>', the inserting transaction's id,
-- the oldest transaction still running when its statement began, and the command id; a
-- listener reads the record by id.
--
-- `xid` lets a listener that lost its connection catch up without missing a late commit:
-- every command it has not seen is in a transaction at or past the horizon it kept (see
-- src/feed.rs), whatever the order of commits.

ALTER TABLE commands ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX commands_xid_idx ON commands (xid);

-- The channel of this schema's commands: channels are per database, not per schema, and
-- at most 63 bytes long, so schemas are told apart by a digest of their name.
CREATE FUNCTION tessera_command_channel(schema_name text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT 'tessera_commands_' || left(encode(sha256(convert_to(schema_name, 'UTF8')), 'hex'), 32) $$;

CREATE FUNCTION tessera_notify_command() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path FROM CURRENT
    AS $$
BEGIN
    PERFORM pg_notify(
        tessera_command_channel(TG_TABLE_SCHEMA),
        NEW.xid::text || ' ' || pg_snapshot_xmin(pg_current_snapshot())::text || ' ' || NEW.id::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER commands_notify AFTER INSERT ON commands
    FOR EACH ROW EXECUTE FUNCTION tessera_notify_command();
