ALTER TABLE "runs" ADD COLUMN "parent_attempt" integer;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "step_item" integer;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "skip_cause" text;--> statement-breakpoint
CREATE UNIQUE INDEX "runs_workflow_decision" ON "runs" USING btree ("parent_run_id","parent_attempt","step",coalesce("step_item", -1)) WHERE "runs"."parent_attempt" is not null;