-- migsafe:ignore create-index-non-concurent a typo: nothing is suppressed
CREATE INDEX orders_status_idx ON orders (status);
-- migsafe:ignore no-such-rule
-- migsafe:ignore all
CREATE INDEX orders_total_idx
  ON orders (total_cents); -- migsafe:ignore add-check-without-not-valid, also-no-rule
ALTER TABLE orders ADD CONSTRAINT orders_total_nonneg CHECK (total_cents >= 0); -- migsafe:ignore checks-without-not-valid reviewed
