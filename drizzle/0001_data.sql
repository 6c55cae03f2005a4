CREATE TABLE "trigger_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"org_id" uuid NOT NULL,
	"automation_id" uuid NOT NULL,
	"trigger_id" uuid,
	"at" timestamp with time zone NOT NULL,
	"kind" text NOT NULL,
	"message" text NOT NULL,
	"run_id" bigint,
	"scheduled_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "trigger_fires" (
	"trigger_id" uuid NOT NULL,
	"fire_key" text NOT NULL,
	"org_id" uuid NOT NULL,
	"scheduled_at" timestamp with time zone,
	"run_id" bigint,
	"fired_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "trigger_fires_trigger_id_fire_key_pk" PRIMARY KEY("trigger_id","fire_key")
);
--> statement-breakpoint
CREATE TABLE "trigger_settings" (
	"automation_id" uuid PRIMARY KEY NOT NULL,
	"org_id" uuid NOT NULL,
	"auto_triggers" boolean DEFAULT true NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "triggers" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"automation_id" uuid NOT NULL,
	"type" text NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"config" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"parameters" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"token_hash" text,
	"token_prefix" text,
	"watch_automation_id" uuid,
	"next_fire_at" timestamp with time zone,
	"fire_early" boolean DEFAULT false NOT NULL,
	"pending_fire_at" timestamp with time zone,
	"next_check_at" timestamp with time zone,
	"lease_owner" text,
	"lease_until" timestamp with time zone,
	"state" jsonb,
	"last_evaluated_at" timestamp with time zone,
	"last_fired_at" timestamp with time zone,
	"last_run_id" bigint,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "check_results" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"org_id" uuid NOT NULL,
	"automation_id" uuid NOT NULL,
	"run_id" bigint,
	"name" text NOT NULL,
	"outcome" text NOT NULL,
	"value" double precision,
	"message" text DEFAULT '' NOT NULL,
	"blocking" boolean DEFAULT true NOT NULL,
	"checked_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "data_file_chunks" (
	"file_id" uuid NOT NULL,
	"seq" integer NOT NULL,
	"data" "bytea" NOT NULL,
	CONSTRAINT "data_file_chunks_file_id_seq_pk" PRIMARY KEY("file_id","seq")
);
--> statement-breakpoint
CREATE TABLE "data_files" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"name" text NOT NULL,
	"size" bigint DEFAULT 0 NOT NULL,
	"sha256" text,
	"content_type" text,
	"complete" boolean DEFAULT false NOT NULL,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "datasource_grants" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"datasource_id" uuid NOT NULL,
	"user_id" uuid,
	"role" text,
	"permission" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "datasources" (
	"id" uuid PRIMARY KEY NOT NULL,
	"org_id" uuid NOT NULL,
	"name" text NOT NULL,
	"type" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"config" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"secret" text,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "metric_values" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"org_id" uuid NOT NULL,
	"automation_id" uuid,
	"run_id" bigint,
	"datasource_id" text NOT NULL,
	"table_name" text NOT NULL,
	"name" text NOT NULL,
	"value" double precision,
	"computed_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "storage_meta" (
	"org_id" uuid NOT NULL,
	"name" text NOT NULL,
	"modified_at" timestamp with time zone DEFAULT now() NOT NULL,
	"run_id" bigint,
	"automation_id" uuid,
	"row_count" bigint,
	CONSTRAINT "storage_meta_org_id_name_pk" PRIMARY KEY("org_id","name")
);
--> statement-breakpoint
CREATE TABLE "variables" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"automation_id" uuid,
	"name" text NOT NULL,
	"value" jsonb,
	"expression" text,
	"updated_by" uuid,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "trigger_events" ADD CONSTRAINT "trigger_events_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "trigger_events" ADD CONSTRAINT "trigger_events_automation_id_automations_id_fk" FOREIGN KEY ("automation_id") REFERENCES "public"."automations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "trigger_events" ADD CONSTRAINT "trigger_events_trigger_id_triggers_id_fk" FOREIGN KEY ("trigger_id") REFERENCES "public"."triggers"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "trigger_fires" ADD CONSTRAINT "trigger_fires_trigger_id_triggers_id_fk" FOREIGN KEY ("trigger_id") REFERENCES "public"."triggers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "trigger_settings" ADD CONSTRAINT "trigger_settings_automation_id_automations_id_fk" FOREIGN KEY ("automation_id") REFERENCES "public"."automations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "trigger_settings" ADD CONSTRAINT "trigger_settings_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "triggers" ADD CONSTRAINT "triggers_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "triggers" ADD CONSTRAINT "triggers_automation_id_automations_id_fk" FOREIGN KEY ("automation_id") REFERENCES "public"."automations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "triggers" ADD CONSTRAINT "triggers_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "check_results" ADD CONSTRAINT "check_results_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "data_file_chunks" ADD CONSTRAINT "data_file_chunks_file_id_data_files_id_fk" FOREIGN KEY ("file_id") REFERENCES "public"."data_files"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "data_files" ADD CONSTRAINT "data_files_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "data_files" ADD CONSTRAINT "data_files_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "datasource_grants" ADD CONSTRAINT "datasource_grants_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "datasource_grants" ADD CONSTRAINT "datasource_grants_datasource_id_datasources_id_fk" FOREIGN KEY ("datasource_id") REFERENCES "public"."datasources"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "datasource_grants" ADD CONSTRAINT "datasource_grants_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "datasources" ADD CONSTRAINT "datasources_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "datasources" ADD CONSTRAINT "datasources_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "metric_values" ADD CONSTRAINT "metric_values_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "storage_meta" ADD CONSTRAINT "storage_meta_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "variables" ADD CONSTRAINT "variables_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "variables" ADD CONSTRAINT "variables_automation_id_automations_id_fk" FOREIGN KEY ("automation_id") REFERENCES "public"."automations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "variables" ADD CONSTRAINT "variables_updated_by_users_id_fk" FOREIGN KEY ("updated_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "trigger_events_automation" ON "trigger_events" USING btree ("automation_id","id");--> statement-breakpoint
CREATE INDEX "trigger_events_at" ON "trigger_events" USING btree ("at");--> statement-breakpoint
CREATE INDEX "trigger_fires_fired" ON "trigger_fires" USING btree ("fired_at");--> statement-breakpoint
CREATE INDEX "triggers_automation" ON "triggers" USING btree ("automation_id");--> statement-breakpoint
CREATE UNIQUE INDEX "triggers_token" ON "triggers" USING btree ("token_hash") WHERE "triggers"."token_hash" is not null;--> statement-breakpoint
CREATE INDEX "triggers_cron_due" ON "triggers" USING btree ("next_fire_at") WHERE "triggers"."type" = 'CRON' and "triggers"."enabled";--> statement-breakpoint
CREATE INDEX "triggers_poll_due" ON "triggers" USING btree ("next_check_at") WHERE "triggers"."next_check_at" is not null and "triggers"."enabled";--> statement-breakpoint
CREATE INDEX "triggers_watch" ON "triggers" USING btree ("watch_automation_id") WHERE "triggers"."watch_automation_id" is not null;--> statement-breakpoint
CREATE INDEX "triggers_pending" ON "triggers" USING btree ("last_run_id") WHERE "triggers"."pending_fire_at" is not null;--> statement-breakpoint
CREATE INDEX "check_results_lookup" ON "check_results" USING btree ("org_id","automation_id","name","id");--> statement-breakpoint
CREATE INDEX "data_files_org" ON "data_files" USING btree ("org_id");--> statement-breakpoint
CREATE INDEX "datasource_grants_datasource" ON "datasource_grants" USING btree ("datasource_id");--> statement-breakpoint
CREATE UNIQUE INDEX "datasources_org_name_live" ON "datasources" USING btree ("org_id","name") WHERE "datasources"."deleted_at" is null;--> statement-breakpoint
CREATE INDEX "metric_values_lookup" ON "metric_values" USING btree ("org_id","datasource_id","table_name","name","id");--> statement-breakpoint
CREATE UNIQUE INDEX "variables_org_name" ON "variables" USING btree ("org_id","name") WHERE "variables"."automation_id" is null;--> statement-breakpoint
CREATE UNIQUE INDEX "variables_automation_name" ON "variables" USING btree ("automation_id","name") WHERE "variables"."automation_id" is not null;