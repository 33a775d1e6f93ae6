CREATE SCHEMA billing;
CREATE TABLE legacy (id int, code text);
ALTER TABLE legacy RENAME TO archive;
CREATE TABLE legacy (id int, code text);
ALTER TABLE legacy RENAME TO archive;
