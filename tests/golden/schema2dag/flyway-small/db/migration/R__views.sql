CREATE OR REPLACE VIEW account_invoices AS SELECT a.name, i.id FROM accounts a JOIN invoices i ON i.account_id = a.id;
