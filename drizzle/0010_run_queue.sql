-- The hot queue leaves runs (engine v2, item 4): run_queue holds one narrow row per run
-- that is not final, with the partial indexes that find work; runs keeps the history
-- with no index that names state, so its state changes are HOT updates.
CREATE TABLE "run_queue" (
	"run_id" bigint PRIMARY KEY NOT NULL,
	"org_id" uuid NOT NULL,
	"state" text NOT NULL,
	"priority" integer NOT NULL,
	"run_at" timestamp with time zone NOT NULL,
	"mutex_name" text,
	"lease_owner" text,
	"lease_expires_at" timestamp with time zone,
	"deadline_at" timestamp with time zone
);
--> statement-breakpoint
INSERT INTO "run_queue" ("run_id", "org_id", "state", "priority", "run_at", "mutex_name", "lease_owner", "lease_expires_at", "deadline_at")
SELECT "id", "org_id", "state", "priority", "run_at", "mutex_name", "lease_owner", "lease_expires_at", "deadline_at"
FROM "runs" WHERE "state" IN ('QUEUED', 'WAITING', 'RUNNING');--> statement-breakpoint
-- Room on each page for a run's next versions: its claim and its end stay on the page (HOT).
ALTER TABLE "runs" SET (fillfactor = 70);--> statement-breakpoint
ALTER TABLE "run_queue" SET (fillfactor = 70);--> statement-breakpoint
DROP INDEX "runs_claimable";--> statement-breakpoint
DROP INDEX "runs_leased";--> statement-breakpoint
DROP INDEX "runs_deadline";--> statement-breakpoint
DROP INDEX "runs_waiting";--> statement-breakpoint
DROP INDEX "runs_parent";--> statement-breakpoint
ALTER TABLE "run_queue" ADD CONSTRAINT "run_queue_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "run_queue_claimable" ON "run_queue" USING btree ("priority","run_at","run_id") WHERE "run_queue"."state" = 'QUEUED';--> statement-breakpoint
CREATE INDEX "run_queue_leased" ON "run_queue" USING btree ("lease_expires_at") WHERE "run_queue"."state" = 'RUNNING' and "run_queue"."lease_owner" is not null;--> statement-breakpoint
CREATE INDEX "run_queue_deadline" ON "run_queue" USING btree ("deadline_at") WHERE "run_queue"."state" = 'RUNNING' and "run_queue"."deadline_at" is not null;--> statement-breakpoint
CREATE INDEX "run_queue_waiting" ON "run_queue" USING btree ("org_id","mutex_name","run_id") WHERE "run_queue"."state" = 'WAITING';--> statement-breakpoint
CREATE INDEX "runs_parent" ON "runs" USING btree ("parent_run_id","step") WHERE "runs"."parent_run_id" is not null;