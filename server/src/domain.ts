/**
 * Terminology (see shared/DESIGN.md for the full glossary).
 *
 * - Organization: the tenant. Every row carries `org_id`; nothing crosses it.
 * - User: one organization, one Role. Folders carry grants on top of the role.
 * - Automation: a named, versioned definition of one Kind. Every save writes a
 *   new AutomationVersion; a Run records the version it ran.
 * - Kind: what an automation does; a module with a config schema and execute().
 * - Run: one execution, moving through RunState. A run that orchestrates others
 *   (CHAIN) has child runs pointing at it through `parent_run_id`.
 * - Mutex: a name shared by automations that must never run at once, across
 *   every worker process. The holder is stored on the mutex row; waiters are
 *   runs in state WAITING, served in enqueue order.
 * - Lease: a worker's claim on a RUNNING run, extended by heartbeat. An expired
 *   lease means the worker is gone: the run is retried or failed "worker lost".
 * - Run-as user: whose grants a run reads with. Triggered-by: who asked for it.
 */

export const Role = { ADMIN: 'ADMIN', EDITOR: 'EDITOR', VIEWER: 'VIEWER' } as const
export type Role = (typeof Role)[keyof typeof Role]
export const ROLE_RANK: Record<Role, number> = { VIEWER: 0, EDITOR: 1, ADMIN: 2 }

/** What a folder grant allows, in increasing order. */
export const Permission = { VIEW: 'VIEW', RUN: 'RUN', EDIT: 'EDIT' } as const
export type Permission = (typeof Permission)[keyof typeof Permission]
export const PERMISSION_RANK: Record<Permission, number> = { VIEW: 0, RUN: 1, EDIT: 2 }

export const RunState = {
  QUEUED: 'QUEUED',
  WAITING: 'WAITING',
  RUNNING: 'RUNNING',
  SUCCEEDED: 'SUCCEEDED',
  FAILED: 'FAILED',
  CANCELLED: 'CANCELLED',
  TIMED_OUT: 'TIMED_OUT',
  SKIPPED: 'SKIPPED',
} as const
export type RunState = (typeof RunState)[keyof typeof RunState]
export const FINAL_STATES: readonly RunState[] = ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT', 'SKIPPED']
export const isFinal = (s: RunState): boolean => FINAL_STATES.includes(s)

export const TriggerSource = {
  MANUAL: 'MANUAL',
  API: 'API',
  EMBED: 'EMBED',
  SCHEDULE: 'SCHEDULE',
  WEBHOOK: 'WEBHOOK',
  CHAIN: 'CHAIN',
  RETRY: 'RETRY',
  AFTER_AUTOMATION: 'AFTER_AUTOMATION',
  DATASET_CHANGE: 'DATASET_CHANGE',
  SQL_CHANGE: 'SQL_CHANGE',
  CODE: 'CODE',
} as const
export type TriggerSource = (typeof TriggerSource)[keyof typeof TriggerSource]

export const MutexPolicy = {
  QUEUE: 'QUEUE',
  SKIP: 'SKIP',
  REPLACE_QUEUED: 'REPLACE_QUEUED',
  CANCEL_RUNNING: 'CANCEL_RUNNING',
} as const
export type MutexPolicy = (typeof MutexPolicy)[keyof typeof MutexPolicy]

export const Kind = {
  SCRIPT: 'SCRIPT',
  HTTP_REQUEST: 'HTTP_REQUEST',
  SQL: 'SQL',
  CHAIN: 'CHAIN',
  NOOP: 'NOOP',
  SQL_TO_STORAGE: 'SQL_TO_STORAGE',
  SYNC_SOURCE: 'SYNC_SOURCE',
  FILE_IMPORT: 'FILE_IMPORT',
  ETL_STEP: 'ETL_STEP',
  PIVOT: 'PIVOT',
  CONCATENATE: 'CONCATENATE',
  COMPUTE_METRICS: 'COMPUTE_METRICS',
  RUN_CHECKS: 'RUN_CHECKS',
  ALARM: 'ALARM',
  SET_VARIABLES: 'SET_VARIABLES',
  WORKFLOW: 'WORKFLOW',
} as const
export type Kind = (typeof Kind)[keyof typeof Kind]

export const LogLevel = { DEBUG: 'DEBUG', INFO: 'INFO', WARN: 'WARN', ERROR: 'ERROR' } as const
export type LogLevel = (typeof LogLevel)[keyof typeof LogLevel]
