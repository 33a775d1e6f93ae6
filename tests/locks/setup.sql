-- tests/locks/setup.sql — the schema every lock-truth case starts from.
--
-- The recorder runs this once into a template database, statement by
-- statement (autocommit), and clones a fresh database from it for each case
-- in cases.sql. Everything lives in schema public.
--
-- The data is deterministic (generate_series, fixed timestamps) and every
-- table holds fewer than 30,000 rows, so ANALYZE reads every row and the
-- planner statistics, hence the plans of FK checks and cascades, are the
-- same on every recording.
--
-- Facts the cases rely on:
--   * customers 1..3000; customer k owns the 4 orders k-1, k+2999, k+5999,
--     k+8999 (order 0 does not exist: customer 1 owns 3000, 6000, 9000,
--     12000); every order has 2 order_items.
--   * payments exist only for even order ids whose customer id is not a
--     multiple of 10, so customers with an even id have no payments (their
--     orders have odd ids): deleting customer 10 cascades through orders and
--     order_items and passes the ON DELETE RESTRICT check on payments;
--     deleting customer 11 fails on it.
--   * customers.code is nullable but has a validated CHECK (code IS NOT
--     NULL); customers.nickname is nullable, has no such CHECK, and holds no
--     NULL; customers.phone is NULL for every 7th customer.
--   * orders.note values fit in varchar(20); tags.name values fit in
--     varchar(10).
--   * events (range on occurred_at) has partitions 2024, 2025 and a DEFAULT
--     partition holding only 2023 rows; measurements (range on day) has no
--     DEFAULT partition (DETACH ... CONCURRENTLY needs that) and is
--     referenced by measurement_notes (rows in measurements_2024 only).
--   * tickets (list on region; its eu partition by range on (opened, prio))
--     holds no rows.
--   * legacy: id int nullable (no NULLs), ext_id int NOT NULL, label text,
--     each with a unique index, for ADD PRIMARY KEY / UNIQUE USING INDEX.

SET client_min_messages = warning;
SET TimeZone = 'UTC';

CREATE TYPE order_status AS ENUM ('pending', 'paid', 'shipped', 'cancelled');
CREATE TYPE priority_level AS ENUM ('low', 'normal', 'high');   -- unused: DROP TYPE
CREATE DOMAIN positive_int AS integer CHECK (VALUE > 0);

CREATE TABLE customers (
	id bigserial PRIMARY KEY,
	email varchar(255) NOT NULL UNIQUE,
	name text NOT NULL,
	phone varchar(50),
	code text,
	nickname text,
	created_at timestamp NOT NULL DEFAULT now(),
	CONSTRAINT customers_code_not_null CHECK (code IS NOT NULL)
);
CREATE INDEX customers_phone_idx ON customers (phone);

CREATE TABLE products (
	id serial PRIMARY KEY,
	sku varchar(50) NOT NULL UNIQUE,
	title text NOT NULL,
	price numeric(10,2) NOT NULL CONSTRAINT products_price_check CHECK (price >= 0),
	stock positive_int,
	weight_g integer
);

CREATE TABLE orders (
	id bigserial PRIMARY KEY,
	customer_id bigint NOT NULL
		REFERENCES customers (id) ON DELETE CASCADE ON UPDATE CASCADE,
	status order_status NOT NULL DEFAULT 'pending',
	total numeric(10,2) NOT NULL DEFAULT 0,
	note varchar(50),
	qty integer NOT NULL DEFAULT 1,
	created timestamp(3) NOT NULL DEFAULT now()
);
CREATE INDEX orders_customer_id_idx ON orders (customer_id);
CREATE INDEX orders_status_idx ON orders (status);
CREATE INDEX orders_created_idx ON orders (created);

CREATE TABLE order_items (
	id bigserial PRIMARY KEY,
	order_id bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
	product_id integer NOT NULL,
	quantity integer NOT NULL,
	unit_price numeric(10,2) NOT NULL,
	line_total numeric(12,2) GENERATED ALWAYS AS (quantity * unit_price) STORED
);
-- order_items.order_id is deliberately not indexed (a common real-world
-- omission): the ON DELETE CASCADE from orders scans order_items.
CREATE INDEX order_items_product_id_idx ON order_items (product_id);

CREATE TABLE payments (
	id bigserial PRIMARY KEY,
	order_id bigint NOT NULL REFERENCES orders (id) ON DELETE RESTRICT,
	amount numeric NOT NULL,
	paid_at timestamptz NOT NULL,
	method text NOT NULL DEFAULT 'card'
);
CREATE INDEX payments_order_id_idx ON payments (order_id);

CREATE TABLE audit_log (
	seq bigserial NOT NULL,
	ts timestamptz NOT NULL DEFAULT now(),
	actor text,
	action text NOT NULL,
	payload text,
	customer_id bigint
);
CREATE RULE audit_log_keep AS ON DELETE TO audit_log DO INSTEAD NOTHING;

CREATE TABLE audit_base (
	ts timestamptz,
	actor text
);
CREATE TABLE audit_old (
	note text
) INHERITS (audit_base);

CREATE UNLOGGED TABLE session_cache (
	key text PRIMARY KEY,
	value text,
	expires_at timestamptz
);

CREATE TABLE events (
	id bigint NOT NULL,
	occurred_at timestamptz NOT NULL,
	kind text NOT NULL,
	customer_id bigint,
	payload jsonb
) PARTITION BY RANGE (occurred_at);
CREATE TABLE events_2024 PARTITION OF events
	FOR VALUES FROM ('2024-01-01 00:00+00') TO ('2025-01-01 00:00+00');
CREATE TABLE events_2025 PARTITION OF events
	FOR VALUES FROM ('2025-01-01 00:00+00') TO ('2026-01-01 00:00+00');
CREATE TABLE events_default PARTITION OF events DEFAULT;
CREATE INDEX events_occurred_at_idx ON events (occurred_at);

CREATE TABLE measurements (
	id bigint NOT NULL,
	day date NOT NULL,
	sensor text NOT NULL,
	value numeric,
	PRIMARY KEY (id, day)
) PARTITION BY RANGE (day);
CREATE TABLE measurements_2024 PARTITION OF measurements
	FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE measurements_2025 PARTITION OF measurements
	FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');

-- tickets: LIST on region, then RANGE on (opened, prio) inside eu
CREATE TABLE tickets (
	id bigint NOT NULL,
	region text,
	opened date NOT NULL,
	prio integer NOT NULL
) PARTITION BY LIST (region);
CREATE TABLE tickets_eu PARTITION OF tickets FOR VALUES IN ('eu', 'uk')
	PARTITION BY RANGE (opened, prio);
CREATE TABLE tickets_eu_old PARTITION OF tickets_eu
	FOR VALUES FROM (MINVALUE, MINVALUE) TO ('2024-01-01', 0);
CREATE TABLE tickets_eu_new PARTITION OF tickets_eu
	FOR VALUES FROM ('2024-01-01', 0) TO (MAXVALUE, MAXVALUE);
CREATE TABLE tickets_us PARTITION OF tickets FOR VALUES IN ('us', NULL);
CREATE TABLE tickets_other PARTITION OF tickets DEFAULT;

CREATE TABLE measurement_notes (
	id serial PRIMARY KEY,
	measurement_id bigint NOT NULL,
	measurement_day date NOT NULL,
	note text,
	FOREIGN KEY (measurement_id, measurement_day) REFERENCES measurements (id, day)
);

CREATE TABLE legacy (
	id integer,
	ext_id integer NOT NULL,
	label text,
	code text,
	valid_during tsrange
);
CREATE UNIQUE INDEX legacy_id_uidx ON legacy (id);
CREATE UNIQUE INDEX legacy_ext_id_uidx ON legacy (ext_id);
CREATE UNIQUE INDEX legacy_label_uidx ON legacy (label);

CREATE TABLE tags (
	id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	name text NOT NULL,
	meta json
);

-- Data ----------------------------------------------------------------------

INSERT INTO customers (email, name, phone, code, nickname, created_at)
SELECT 'user' || i || '@example.com',
       'Customer ' || i,
       CASE WHEN i % 7 = 0 THEN NULL ELSE '+1-555-' || lpad(i::text, 4, '0') END,
       'C' || lpad(i::text, 5, '0'),
       'nick' || i,
       timestamp '2023-01-01 00:00' + i * interval '1 hour'
FROM generate_series(1, 3000) AS i
ORDER BY i;

INSERT INTO products (sku, title, price, stock, weight_g)
SELECT 'SKU-' || lpad(i::text, 4, '0'),
       'Product ' || i,
       (i % 100) + 0.99,
       (i % 50) + 1,
       100 + i
FROM generate_series(1, 200) AS i
ORDER BY i;

INSERT INTO orders (customer_id, status, total, note, qty, created)
SELECT 1 + (i % 3000),
       (ARRAY['pending', 'paid', 'shipped', 'cancelled'])[1 + i % 4]::order_status,
       ((i * 37) % 50000) / 100.0,
       CASE WHEN i % 5 = 0 THEN NULL ELSE 'note ' || i END,
       1 + i % 5,
       timestamp '2024-01-01 00:00' + i * interval '37 minutes'
FROM generate_series(1, 12000) AS i
ORDER BY i;

INSERT INTO order_items (order_id, product_id, quantity, unit_price)
SELECT 1 + (i - 1) / 2,
       1 + (i % 200),
       1 + i % 3,
       (i % 100) + 0.5
FROM generate_series(1, 24000) AS i
ORDER BY i;

INSERT INTO payments (order_id, amount, paid_at, method)
SELECT o.id, o.total,
       timestamptz '2024-01-02 00:00+00' + o.id * interval '37 minutes',
       CASE WHEN o.id % 3 = 0 THEN 'card' ELSE 'transfer' END
FROM orders o
WHERE o.customer_id % 10 <> 0 AND o.id % 2 = 0
ORDER BY o.id;

INSERT INTO audit_log (ts, actor, action, payload, customer_id)
SELECT timestamptz '2024-01-01 00:00+00' + i * interval '1 hour',
       'user' || (i % 50),
       (ARRAY['login', 'update', 'export'])[1 + i % 3],
       'payload ' || i,
       1 + (i % 3000)
FROM generate_series(1, 5000) AS i
ORDER BY i;

INSERT INTO audit_old (ts, actor, note)
SELECT timestamptz '2020-01-01 00:00+00' + i * interval '1 day', 'old' || i, 'n' || i
FROM generate_series(1, 500) AS i
ORDER BY i;

INSERT INTO session_cache (key, value, expires_at)
SELECT 'k' || i, 'v' || i, timestamptz '2030-01-01 00:00+00' + i * interval '1 minute'
FROM generate_series(1, 500) AS i
ORDER BY i;

INSERT INTO events (id, occurred_at, kind, customer_id, payload)
SELECT i,
       timestamptz '2023-07-01 00:00+00' + i * interval '3 hours',
       (ARRAY['view', 'click', 'buy', 'refund'])[1 + i % 4],
       1 + (i % 3000),
       jsonb_build_object('n', i)
FROM generate_series(1, 6000) AS i
ORDER BY i;

INSERT INTO measurements (id, day, sensor, value)
SELECT i, date '2024-01-01' + (i % 700), 's' || (i % 20), i * 0.25
FROM generate_series(1, 2000) AS i
ORDER BY i;

-- notes reference 2024 measurements only, so measurements_2025 can be detached
INSERT INTO measurement_notes (measurement_id, measurement_day, note)
SELECT i, date '2024-01-01' + (i % 700), 'note ' || i
FROM generate_series(1, 2000, 10) AS i
WHERE i % 700 < 366
ORDER BY i;

INSERT INTO legacy (id, ext_id, label, code, valid_during)
SELECT i, 100000 + i, 'label-' || i, 'L' || i,
       tsrange(timestamp '2020-01-01' + i * interval '1 day',
               timestamp '2020-01-01' + i * interval '1 day' + interval '12 hours')
FROM generate_series(1, 2000) AS i
ORDER BY i;

INSERT INTO tags (name, meta)
SELECT 'tag-' || i, json_build_object('n', i, 'label', 'Tag ' || i)
FROM generate_series(1, 1000) AS i
ORDER BY i;

-- Constraints that must be added after the data -----------------------------

-- A NOT VALID CHECK and a NOT VALID FK, for VALIDATE CONSTRAINT.
ALTER TABLE orders ADD CONSTRAINT orders_total_nonneg CHECK (total >= 0) NOT VALID;
ALTER TABLE order_items ADD CONSTRAINT order_items_product_id_fkey
	FOREIGN KEY (product_id) REFERENCES products (id) NOT VALID;

-- Views ---------------------------------------------------------------------

-- The views use few columns on purpose (a column a view uses cannot change
-- type): order_summary uses orders.id, status, customer_id and
-- customers.id, name; customer_totals uses orders.customer_id only.
CREATE VIEW order_summary AS
SELECT o.id, o.status, o.customer_id, c.name
FROM orders o
JOIN customers c ON c.id = o.customer_id;

CREATE MATERIALIZED VIEW customer_totals AS
SELECT customer_id, count(*) AS orders
FROM orders
GROUP BY customer_id;
CREATE UNIQUE INDEX customer_totals_customer_id_idx ON customer_totals (customer_id);

-- Triggers, policies, clustering ----------------------------------------------

CREATE FUNCTION audit_product_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO audit_log (actor, action, payload)
	VALUES (current_user, TG_OP, NEW.sku);
	RETURN NEW;
END
$$;
CREATE TRIGGER products_audit AFTER UPDATE ON products
	FOR EACH ROW EXECUTE FUNCTION audit_product_change();

CREATE POLICY customers_all ON customers USING (true);

ALTER TABLE orders CLUSTER ON orders_created_idx;

-- Statistics: every table is under 30,000 rows, so this reads all rows.
VACUUM ANALYZE;
