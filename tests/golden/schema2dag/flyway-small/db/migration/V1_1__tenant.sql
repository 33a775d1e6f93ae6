ALTER TABLE accounts ADD COLUMN tenant text NOT NULL DEFAULT '${tenant}';
