-- migsafe:ignore add-column-default reason
SET lock_timeout = '2s';
BEGIN;
ALTER TABLE orders ADD COLUMN deleted_at timestamptz DEFAULT now(); -- migsafe:ignore volatile-default
UPDATE orders SET status = 'paid' WHERE id < 100;
COMMIT;
CREATE INDEX CONCURRENTLY orders_deleted ON orders (deleted_at);
VACUUM ANALYZE orders;
SET TIME ZONE 'Europe/Paris';
ALTER TABLE customers ALTER COLUMN email TYPE text;
DELETE FROM customers;
REINDEX TABLE CONCURRENTLY orders;
