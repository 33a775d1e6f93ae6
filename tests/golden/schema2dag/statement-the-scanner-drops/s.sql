CREATE TABLE a (id int);
CRATE TABLE b (id int);
