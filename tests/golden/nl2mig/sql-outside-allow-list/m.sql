-- a person's file: reviewed, never refused for what it does
CREATE TYPE "Status_new" AS ENUM ('active', 'gone');
ALTER TYPE "Status" RENAME TO "Status_old";
ALTER TYPE "Status_new" RENAME TO "Status";
ALTER TABLE "Account" DISABLE TRIGGER ALL;
GRANT SELECT ON "Account" TO reporting;
SET datestyle = 'ISO, MDY';
SELECT refresh_stats(1);
DROP FUNCTION refresh_stats(integer);
CREATE EXTENSION IF NOT EXISTS pgcrypto;
DELETE FROM "Account" WHERE "closed";
ALTER TABLE "Account" ENABLE TRIGGER ALL;
