-- A small schema for the Graphviz diagram: an enum, tables with simple and
-- composite keys, foreign keys (one NOT VALID), a partitioned table, a view
-- and a materialized view, and names that need escaping in DOT and HTML.
CREATE TYPE "Role" AS ENUM ('ADMIN', 'USER');

CREATE TABLE customers (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	email character varying(255) NOT NULL,
	role "Role" NOT NULL DEFAULT 'USER'
);

CREATE TABLE orders (
	id bigserial PRIMARY KEY,
	customer_id bigint NOT NULL REFERENCES customers ON DELETE CASCADE,
	total numeric(12,2) NOT NULL
);

CREATE TABLE "Line<Item>" (
	"orderId" bigint NOT NULL,
	"line&No" integer NOT NULL,
	qty integer CHECK (qty > 0),
	PRIMARY KEY ("orderId", "line&No")
);
ALTER TABLE "Line<Item>" ADD CONSTRAINT line_order_fkey
	FOREIGN KEY ("orderId") REFERENCES orders (id) NOT VALID;

CREATE TABLE events (
	id bigint NOT NULL,
	at timestamptz NOT NULL,
	customer_id bigint REFERENCES customers (id)
) PARTITION BY RANGE (at);
CREATE TABLE events_2024 PARTITION OF events
	FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');

CREATE VIEW order_totals AS
	SELECT c.email, sum(o.total) AS total
	FROM customers c JOIN orders o ON o.customer_id = c.id
	GROUP BY c.email;
CREATE MATERIALIZED VIEW "big ""spenders""" AS
	SELECT * FROM order_totals WHERE total > 1000;
