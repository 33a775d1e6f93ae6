/*
  Warnings:
  - Added the required column `role` to the `User` table without a default value.
*/
-- CreateEnum
CREATE TYPE "public"."Role" AS ENUM ('USER', 'ADMIN');
-- AlterTable
ALTER TABLE "public"."User" ADD COLUMN "role" "public"."Role" NOT NULL DEFAULT 'USER';
