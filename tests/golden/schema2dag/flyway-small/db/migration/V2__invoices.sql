CREATE TABLE invoices (id bigint PRIMARY KEY, account_id bigint REFERENCES accounts ON DELETE CASCADE);
