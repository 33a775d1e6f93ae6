-- run by ${flyway:user} as ${flyway:filename}; unqualified names go to ${flyway:defaultSchema}
CREATE TABLE audit (id bigint PRIMARY KEY, account_id bigint REFERENCES ${app}.accounts (id));
ALTER TABLE accounts ADD COLUMN note text;
