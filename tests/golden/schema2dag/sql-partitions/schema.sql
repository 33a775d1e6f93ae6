-- partitions keep their bounds (as pg_get_expr writes them) and
-- partitioned tables their key columns (null for an expression)
CREATE TABLE events (id bigint, at timestamptz, kind text, n int) PARTITION BY RANGE (at, n);
CREATE TABLE events_old PARTITION OF events FOR VALUES FROM (MINVALUE, MINVALUE) TO ('2024-01-01 00:00+00', -1);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01 00:00+00', -1) TO ('2025-01-01 00:00+00', MAXVALUE)
	PARTITION BY LIST (kind);
CREATE TABLE events_2024_views PARTITION OF events_2024 FOR VALUES IN ('view', 'o''clock', NULL);
CREATE TABLE events_2024_rest PARTITION OF events_2024 DEFAULT;
CREATE TABLE shards (id int, tag text) PARTITION BY HASH (id);
CREATE TABLE shards_0 PARTITION OF shards FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE shards_1 (id int, tag text);
ALTER TABLE shards ATTACH PARTITION shards_1 FOR VALUES WITH (MODULUS 2, REMAINDER 1);
CREATE TABLE by_lower (id int, tag text) PARTITION BY LIST (lower(tag));
CREATE TABLE by_lower_a PARTITION OF by_lower FOR VALUES IN ('a');
ALTER TABLE by_lower DETACH PARTITION by_lower_a;
ALTER TABLE events RENAME COLUMN n TO seq;
