-- Triggers keep the tables their PL/pgSQL functions write; domains keep
-- their constraints.
CREATE SCHEMA ops;
CREATE DOMAIN positive_int AS integer CHECK (VALUE > 0);
CREATE DOMAIN ops.code AS varchar(10) NOT NULL;
ALTER DOMAIN positive_int ADD CHECK (VALUE < 1000000);
ALTER DOMAIN positive_int ADD CONSTRAINT positive_int_even CHECK (VALUE % 2 = 0);
ALTER DOMAIN positive_int DROP CONSTRAINT positive_int_even;
CREATE DOMAIN scratch AS text CHECK (VALUE <> '');
DROP DOMAIN scratch;

CREATE TABLE items (id serial PRIMARY KEY, qty positive_int, sku ops.code, price numeric);
CREATE TABLE audit (id bigserial, what text);
CREATE TABLE ops.history (id bigserial, what text);
CREATE TABLE counters (name text PRIMARY KEY, n bigint);

-- the body writes two tables, one through a data-modifying CTE, in two
-- branches; the SELECT writes nothing
CREATE FUNCTION ops.log_item() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		WITH h AS (INSERT INTO ops.history (what) VALUES ('gone') RETURNING id)
		SELECT count(*) FROM h;
	ELSE
		INSERT INTO audit (what) VALUES (TG_OP);
	END IF;
	PERFORM 1 FROM counters;
	RETURN NEW;
END
$$;
CREATE TRIGGER items_log AFTER INSERT OR DELETE ON items
	FOR EACH ROW EXECUTE FUNCTION ops.log_item();
CREATE TRIGGER items_price BEFORE UPDATE OF price ON items
	FOR EACH STATEMENT EXECUTE PROCEDURE ops.log_item();

-- audit's own trigger counts into counters (followed by lockscore)
CREATE FUNCTION count_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE counters SET n = n + 1 WHERE name = 'audit';
	RETURN NULL;
END
$$;
CREATE TRIGGER audit_count AFTER INSERT ON audit
	FOR EACH ROW EXECUTE FUNCTION count_audit();

-- replacing a function changes what its triggers write; a dropped trigger goes
CREATE TRIGGER items_gone AFTER TRUNCATE ON items EXECUTE FUNCTION count_audit();
DROP TRIGGER items_gone ON items;
CREATE OR REPLACE FUNCTION count_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	MERGE INTO counters c USING (VALUES ('audit')) v (name) ON c.name = v.name
	WHEN MATCHED THEN UPDATE SET n = c.n + 1
	WHEN NOT MATCHED THEN INSERT VALUES (v.name, 1);
	RETURN NULL;
END
$$;

-- a body that assigns to NEW or to a parameter is read with the statement
-- around it, where those are declared
CREATE TABLE prices (id int PRIMARY KEY, price numeric);
CREATE FUNCTION round_price() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	NEW.price := round(NEW.price, 2);
	INSERT INTO ops.history (what) VALUES ('price');
	RETURN NEW;
END
$$;
CREATE TRIGGER prices_round BEFORE INSERT OR UPDATE ON prices
	FOR EACH ROW EXECUTE FUNCTION round_price();
CREATE FUNCTION add_note(col text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	col := lower(col);
	ALTER TABLE prices ADD COLUMN note text;
END
$$;
SELECT add_note('Note');
