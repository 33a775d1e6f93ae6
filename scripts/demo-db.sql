-- The built-in demo "production" database: a small shop. Used by make demo,
-- the tests and the benchmarks. Scale with: psql -v scale=N (default 1 =
-- 2,000 customers, 20,000 orders, 60,000 order items).
\if :{?scale}
\else
\set scale 1
\endif

CREATE TYPE order_status AS ENUM ('pending', 'paid', 'shipped', 'cancelled');

CREATE TABLE customers (
    id bigserial PRIMARY KEY,
    email varchar(255) NOT NULL UNIQUE,
    full_name text NOT NULL,
    phone text,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE products (
    id serial PRIMARY KEY,
    sku varchar(32) NOT NULL UNIQUE,
    title text NOT NULL,
    price_cents integer NOT NULL CHECK (price_cents >= 0)
);

CREATE TABLE orders (
    id bigserial PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    status order_status NOT NULL DEFAULT 'pending',
    total_cents integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_customer_id_idx ON orders (customer_id);

CREATE TABLE order_items (
    order_id bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    product_id integer NOT NULL REFERENCES products (id),
    quantity integer NOT NULL DEFAULT 1,
    price_cents integer NOT NULL,
    PRIMARY KEY (order_id, product_id)
);

CREATE VIEW customer_totals AS
    SELECT c.id, c.email, sum(o.total_cents) AS spent
    FROM customers c JOIN orders o ON o.customer_id = c.id
    GROUP BY c.id, c.email;

INSERT INTO customers (email, full_name, phone, created_at)
SELECT 'customer' || g || '@example.com', 'Customer ' || g, '+1-555-' || lpad(g::text, 6, '0'),
       now() - (g || ' hours')::interval
FROM generate_series(1, 2000 * :scale) g;

INSERT INTO products (sku, title, price_cents)
SELECT 'SKU-' || g, 'Product ' || g, 100 + (g * 37) % 9900
FROM generate_series(1, 200) g;

INSERT INTO orders (customer_id, status, created_at)
SELECT 1 + (g * 7919) % (2000 * :scale),
       (ARRAY['pending', 'paid', 'shipped', 'cancelled']::order_status[])[1 + g % 4],
       now() - (g || ' minutes')::interval
FROM generate_series(1, 20000 * :scale) g;

INSERT INTO order_items (order_id, product_id, quantity, price_cents)
SELECT o.id, 1 + (o.id + k * 67) % 200, 1 + k, 100 + (o.id * k) % 5000
FROM orders o CROSS JOIN generate_series(1, 3) k;

UPDATE orders o SET total_cents = s.total
FROM (SELECT order_id, sum(quantity * price_cents) AS total FROM order_items GROUP BY order_id) s
WHERE s.order_id = o.id;

ANALYZE;
