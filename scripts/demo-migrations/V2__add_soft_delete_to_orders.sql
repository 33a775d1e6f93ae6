-- add soft_delete column to orders table with a default of false
SET lock_timeout = '2s';
ALTER TABLE orders ADD COLUMN soft_delete boolean NOT NULL DEFAULT false;
