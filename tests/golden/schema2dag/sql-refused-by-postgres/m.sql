-- statements PostgreSQL would refuse in the state the replay reached are not
-- applied, and a guard that cannot be decided from the schema applies nothing
CREATE TABLE queues (id integer NOT NULL, name text NOT NULL, CONSTRAINT queues_name_check CHECK (name <> ''));
ALTER TABLE queues ADD PRIMARY KEY (id);
ALTER TABLE queues ADD PRIMARY KEY (name);
ALTER TABLE queues ADD CONSTRAINT queues_name_check CHECK (length(name) < 100);
ALTER TABLE queues ADD CONSTRAINT queues_pkey UNIQUE (name);
CREATE TABLE queues_name_key (id integer);
ALTER TABLE queues ADD CONSTRAINT queues_name_key UNIQUE (name);
DO $$
BEGIN
  IF (SELECT count(*) FROM queues) = 0 THEN
    CREATE TABLE seeded (id integer);
  ELSE
    CREATE TABLE not_seeded (id integer);
  END IF;
  CASE current_setting('server_version_num')::int / 10000
    WHEN 15 THEN CREATE TABLE pg15 (id integer);
    ELSE CREATE TABLE other (id integer);
  END CASE;
  FOR i IN 1..3 LOOP
    ALTER TABLE queues ADD COLUMN IF NOT EXISTS looped integer;
  END LOOP;
  BEGIN
    CREATE TABLE in_block (id integer);
  EXCEPTION WHEN duplicate_table THEN
    CREATE TABLE handler_only (id integer);
  END;
END $$;
