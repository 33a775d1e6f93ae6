-- libpg_query 15-4.0.0's JSON leaves out integer constants that are 0 or
-- negative; schema2dag reads them back from the text
CREATE DOMAIN offset_int AS integer CHECK (VALUE >= -10);
CREATE TABLE t (
	a int DEFAULT -1 CHECK (a > -5),
	b int DEFAULT 0,
	c int DEFAULT - 7,
	d bigint DEFAULT -9000000000,
	e numeric DEFAULT -1.5
);
-- a later statement: its locations are far into the text
CREATE INDEX t_a_idx ON t (a) WHERE a <> -1 AND b > 0;
ALTER TABLE t ADD CONSTRAINT t_c_range CHECK (c BETWEEN -100 AND -1);
ALTER TABLE t ADD CONSTRAINT t_b_outside CHECK (b NOT BETWEEN SYMMETRIC 5 AND -5 AND NULLIF(b, -2) IS NOT NULL);
