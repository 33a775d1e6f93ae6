CREATE TABLE ${app}.accounts (id bigint PRIMARY KEY, email text);
