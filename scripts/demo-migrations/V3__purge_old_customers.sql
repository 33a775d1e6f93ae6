-- a non-concurrent index on orders and a cascading delete of old customers
CREATE INDEX orders_status_created_at_idx ON orders (status, created_at);
DELETE FROM customers WHERE created_at < now() - interval '2 years';
