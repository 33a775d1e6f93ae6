ALTER TABLE orders ADD COLUMN note text;
ALTER TYPE "Status" RENAME TO "Status_old";
DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = $q$x$q$) THEN ALTER TABLE orders ADD PRIMARY KEY (id); END IF; END $$;
