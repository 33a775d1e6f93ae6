-- the fixes repeat the statement's own expressions, negative constants
-- included (libpg_query's JSON drops them; they are read from the text)
SET lock_timeout = '2s';
ALTER TABLE orders ADD CONSTRAINT orders_total_range CHECK (total_cents BETWEEN -100 AND 1000000);
ALTER TABLE orders ADD CONSTRAINT orders_not_minus_one CHECK (total_cents <> -1);
