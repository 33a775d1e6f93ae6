CREATE TABLE a (id int);

CREATE TABL b (id int);
