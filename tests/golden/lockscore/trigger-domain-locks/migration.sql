-- items_log writes ops.history and audit; audit's trigger writes counters
INSERT INTO items (qty, sku) VALUES (2, 'a');
-- items_price fires only for UPDATE OF price
UPDATE items SET qty = 4 WHERE id = 1;
UPDATE items SET price = 1 WHERE id = 1;
MERGE INTO items i USING (VALUES (1)) v (id) ON i.id = v.id
WHEN MATCHED THEN DELETE;
COPY items (qty, sku) FROM STDIN;
-- a domain with constraints rewrites on ADD COLUMN and ALTER TYPE; one without does not
ALTER TABLE counters ADD COLUMN step positive_int;
CREATE DOMAIN plain_int AS integer;
ALTER TABLE counters ADD COLUMN other plain_int;
ALTER TABLE audit ALTER COLUMN id TYPE positive_int;
-- round_price assigns NEW.price and writes ops.history
UPDATE prices SET price = 2.499 WHERE id = 1;
-- a DELETE whose trigger writes other tables does not cascade
DELETE FROM items WHERE id = 2;
