CREATE TABLE "run_attempts" (
	"run_id" bigint NOT NULL,
	"attempt" integer NOT NULL,
	"org_id" uuid NOT NULL,
	"state" text NOT NULL,
	"worker" text,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone DEFAULT now() NOT NULL,
	"outputs" jsonb,
	"error" text,
	CONSTRAINT "run_attempts_run_id_attempt_pk" PRIMARY KEY("run_id","attempt")
);
--> statement-breakpoint
DROP INDEX "runs_claimable";--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "claim_token" bigint;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "priority" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "runs_claimable" ON "runs" USING btree ("priority","run_at","id") WHERE "runs"."state" = 'QUEUED';--> statement-breakpoint
-- Fencing tokens: one per claim, never reused, so a stale worker's token can never match again.
CREATE SEQUENCE IF NOT EXISTS "run_claim_tokens";
