// Shapes of the server's GraphQL types as the dashboard selects them
// (server/src/graphql; print the schema with `node --import tsx src/graphql/print-schema.ts`).

export const RUN_STATES = [
  'QUEUED',
  'WAITING',
  'RUNNING',
  'SUCCEEDED',
  'FAILED',
  'CANCELLED',
  'TIMED_OUT',
  'SKIPPED',
] as const
export type RunState = (typeof RUN_STATES)[number]

/** States after which a run never changes again. */
export const FINAL_STATES: ReadonlySet<RunState> = new Set([
  'SUCCEEDED',
  'FAILED',
  'CANCELLED',
  'TIMED_OUT',
  'SKIPPED',
])

export const ROLES = ['ADMIN', 'EDITOR', 'VIEWER'] as const
export type Role = (typeof ROLES)[number]

export const PERMISSIONS = ['VIEW', 'RUN', 'EDIT'] as const
export type Permission = (typeof PERMISSIONS)[number]

export const PARAMETER_TYPES = ['STRING', 'NUMBER', 'BOOLEAN', 'DATE', 'JSON'] as const
export type ParameterType = (typeof PARAMETER_TYPES)[number]

export const MUTEX_POLICIES = ['QUEUE', 'SKIP', 'REPLACE_QUEUED', 'CANCEL_RUNNING'] as const
export type MutexPolicy = (typeof MUTEX_POLICIES)[number]

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json }
export type JsonObject = { [key: string]: Json }

export interface User {
  id: string
  email: string
  name: string
  role: Role
  deleted?: boolean
  createdAt?: string
  /** Admins always; editors an admin granted it. */
  manageSecrets?: boolean
}

export interface UserRef {
  id?: string
  email: string
}

export interface KindInfo {
  name: string
  description: string
  /** The kind's config as JSON Schema (input side). */
  configSchema?: Json
}

export interface ParameterDeclaration {
  name: string
  type: ParameterType
  required: boolean
  default: Json | null
  description: string
  /** The only values a run may pass (STRING and NUMBER); null = any value of the type. */
  allowedValues: Json[] | null
}

export interface AutomationSummary {
  id: string
  name: string
  description: string
  kind: string
  folderId: string | null
  viewerCanEdit: boolean
  viewerCanRun: boolean
  allowAllUsersToRun: boolean
  updatedAt: string
  /** The next tick of its enabled CRON triggers. */
  nextScheduledAt: string | null
  /** Enough of its parameters to tell whether a run needs a form. */
  parameters: Pick<ParameterDeclaration, 'name' | 'required' | 'default'>[]
}

export interface Automation extends AutomationSummary {
  config: JsonObject
  parameters: ParameterDeclaration[]
  timeoutMs: number | null
  retry: { maxAttempts: number; backoffMs: number }
  mutex: { name: string; policy: MutexPolicy } | null
  runAsUser: UserRef | null
  version: number
  createdAt: string
  createdBy: UserRef | null
  versions: { version: number; createdAt: string }[]
}

export interface Run {
  id: string
  state: RunState
  automationId: string
  automation: { id: string; name: string; kind: string; viewerCanRun: boolean } | null
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
  durationMs: number | null
  triggerSource: string
  triggeredBy: UserRef | null
  runAs: UserRef | null
  attempt: number
  maxAttempts: number
  parentRunId: string | null
  step: number | null
  mutexName: string | null
  position: number | null
  error: string | null
  version: number
}

export interface RunDetail extends Run {
  parameters: Json
  outputs: Json | null
  children: Run[]
}

export interface RunLogLine {
  id: string
  at: string
  level: string
  message: string
}

export interface Mutex {
  name: string
  holder: Run | null
  waiting: Run[]
  /** Automations whose current version uses it. */
  automations: { id: string; name: string }[]
}

export interface FolderGrant {
  id: string
  folderId: string
  permission: Permission
  role: Role | null
  userId: string | null
}

export interface Folder {
  id: string
  name: string
  grants?: FolderGrant[]
}

export interface ApiToken {
  id: string
  name: string
  prefix: string
  createdAt: string
  expiresAt: string | null
  lastUsedAt: string | null
  revoked: boolean
}

export interface EmbedToken {
  id: string
  name: string
  automationIds: string[]
  allowedOrigins: string[]
  createdAt: string
  expiresAt: string | null
  revoked: boolean
}

export interface PageInfo {
  hasNextPage: boolean
  endCursor: string | null
}

export interface Connection<T> {
  edges: { cursor: string; node: T }[]
  pageInfo: PageInfo
}

export interface ValidationIssue {
  path: string
  message: string
}

/** An organization secret as listed: never its value. */
export interface Secret {
  id: string
  name: string
  description: string
  updatedAt: string
  updatedBy: { email: string } | null
  usages?: {
    automationId: string
    automationName: string | null
    uses: number
    lastRunId: string | null
    lastUsedAt: string
  }[]
}

/** One entry of the audit log. */
export interface AuditEvent {
  id: string
  at: string
  actor: string
  action: string
  targetType: string | null
  targetId: string | null
  outcome: string
  details: JsonObject
  address: string | null
  userAgent: string | null
}
