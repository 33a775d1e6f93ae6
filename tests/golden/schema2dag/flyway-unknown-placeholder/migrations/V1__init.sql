CREATE SCHEMA ${schema};

CREATE TABLE ${schema}.t (
    id int,
    owner text DEFAULT ${flyway:user_name}
);
