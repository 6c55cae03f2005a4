import { AUTOMATION_FIELDS, AUTOMATION_SUMMARY_FIELDS } from '$lib/api/fragments'
import { RESULT_ERRORS, mutate, type Outcome, request } from '$lib/api/graphql'
import type {
  Automation,
  AutomationSummary,
  Connection,
  Json,
  JsonObject,
  KindInfo,
  MutexPolicy,
  ParameterType,
} from '$lib/api/types'

type Fetch = typeof fetch

/** What createAutomation/updateAutomation take; an update replaces the whole definition. */
export interface AutomationInput {
  name: string
  description: string
  kind: string
  folderId: string | null
  config: JsonObject
  parameters: {
    name: string
    type: ParameterType
    required: boolean
    default?: Json
    description: string
    allowedValues?: Json[]
  }[]
  timeoutMs: number | null
  retry: { maxAttempts: number; backoffMs: number } | null
  mutex: { name: string; policy: MutexPolicy } | null
  runAsUserId: string | null
  allowAllUsersToRun: boolean
}

export function toInput(a: Automation): AutomationInput {
  return {
    name: a.name,
    description: a.description,
    kind: a.kind,
    folderId: a.folderId,
    config: structuredClone(a.config),
    parameters: a.parameters.map((p) => ({
      name: p.name,
      type: p.type,
      required: p.required,
      description: p.description,
      ...(p.default === null ? {} : { default: p.default }),
      ...(p.allowedValues ? { allowedValues: [...p.allowedValues] } : {}),
    })),
    timeoutMs: a.timeoutMs,
    retry: { ...a.retry },
    mutex: a.mutex ? { ...a.mutex } : null,
    runAsUserId: a.runAsUser?.id ?? null,
    allowAllUsersToRun: a.allowAllUsersToRun,
  }
}

/**
 * A script's sandbox has its own limit (config.timeoutMs, used when the automation sets
 * none). The forms show one timeout, the automation's: a script's limit follows it, so
 * the two never disagree.
 */
export function withOneTimeout(input: AutomationInput): AutomationInput {
  if (input.kind !== 'SCRIPT') return input
  const config = { ...input.config }
  if (input.timeoutMs === null) delete config.timeoutMs
  else config.timeoutMs = input.timeoutMs
  return { ...input, config }
}

export function emptyInput(kind = 'SCRIPT', folderId: string | null = null): AutomationInput {
  return {
    name: '',
    description: '',
    kind,
    folderId,
    config: defaultConfig(kind),
    parameters: [],
    timeoutMs: null,
    retry: null,
    mutex: null,
    runAsUserId: null,
    allowAllUsersToRun: false,
  }
}

const target = (): JsonObject => ({ storage: '', mode: 'REPLACE', key: [] })
const warehouseQuery = (): JsonObject => ({ datasource: 'warehouse', query: '' })

/** Where the forms of the data kinds start: every section they edit present, nothing guessed. */
const DATA_KIND_CONFIGS: Record<string, JsonObject> = {
  SQL_TO_STORAGE: { source: warehouseQuery(), target: target() },
  SYNC_SOURCE: { source: { datasource: '' }, target: target() },
  FILE_IMPORT: { source: { type: 'UPLOAD', datasource: '' }, options: {}, target: target() },
  ETL_STEP: {
    source: { datasource: 'warehouse' },
    transform: { computed: [], filters: [], select: [] },
    target: target(),
  },
  PIVOT: {
    source: { datasource: 'warehouse' },
    pivot: { rows: [], column: '', aggregate: 'SUM' },
    target: target(),
  },
  CONCATENATE: { sources: [{ datasource: 'warehouse' }, { datasource: 'warehouse' }], target: target() },
  COMPUTE_METRICS: { target: { datasource: 'warehouse', table: '' }, metrics: [{ type: 'ROW_COUNT' }] },
  RUN_CHECKS: {
    checks: [{ name: '', sql: warehouseQuery(), rule: { type: 'MIN', min: 0 } }],
    failOn: 'ERROR',
  },
  ALARM: {
    source: warehouseQuery(),
    operator: '>',
    threshold: 0,
    reporters: [{ type: 'STORAGE', storage: '' }],
  },
  SET_VARIABLES: { scope: 'AUTOMATION', variables: [{ name: '', value: '' }] },
}

/** A starting config per kind, so a new automation is one edit away from valid. */
export function defaultConfig(kind: string): JsonObject {
  switch (kind) {
    case 'SCRIPT':
      return { language: 'javascript', code: "log('hello from Switchyard')\n" }
    case 'SQL':
      return { statement: 'select 1 as one' }
    case 'HTTP_REQUEST':
      return { method: 'GET', url: 'https://example.com/' }
    case 'CHAIN':
      return { children: [] }
    default:
      return structuredClone(DATA_KIND_CONFIGS[kind] ?? {})
  }
}

export async function listAutomations(
  opts: { search?: string; folderId?: string; kind?: string; first?: number; after?: string },
  fetchFn?: Fetch,
): Promise<Connection<AutomationSummary>> {
  const data = await request<{ automations: Connection<AutomationSummary> }>(
    `query Automations($search: String, $folderId: ID, $kind: String, $first: Int, $after: String) {
      automations(search: $search, folderId: $folderId, kind: $kind, first: $first, after: $after) {
        edges { cursor node { ${AUTOMATION_SUMMARY_FIELDS} } }
        pageInfo { hasNextPage endCursor }
      }
    }`,
    { first: 50, ...opts },
    fetchFn,
  )
  return data.automations
}

export async function getAutomation(id: string, fetchFn?: Fetch): Promise<Automation | null> {
  const data = await request<{ automation: Automation | null }>(
    `query Automation($id: ID!) { automation(id: $id) { ${AUTOMATION_FIELDS} } }`,
    { id },
    fetchFn,
  )
  return data.automation
}

export async function listKinds(fetchFn?: Fetch): Promise<KindInfo[]> {
  return (
    await request<{ kinds: KindInfo[] }>(
      'query Kinds { kinds { name description configSchema } }',
      {},
      fetchFn,
    )
  ).kinds
}

export function createAutomation(input: AutomationInput): Promise<Outcome<Automation>> {
  return mutate<Automation>({
    query: `mutation Create($input: AutomationInput!) {
      createAutomation(input: $input) { ${RESULT_ERRORS} ... on CreateAutomationSuccess { automation { ${AUTOMATION_FIELDS} } } }
    }`,
    variables: { input },
    field: 'createAutomation',
    key: 'automation',
  })
}

export function updateAutomation(id: string, input: AutomationInput): Promise<Outcome<Automation>> {
  return mutate<Automation>({
    query: `mutation Update($id: ID!, $input: AutomationInput!) {
      updateAutomation(id: $id, input: $input) { ${RESULT_ERRORS} ... on UpdateAutomationSuccess { automation { ${AUTOMATION_FIELDS} } } }
    }`,
    variables: { id, input },
    field: 'updateAutomation',
    key: 'automation',
  })
}

export function deleteAutomation(id: string): Promise<Outcome<{ id: string }>> {
  return mutate<{ id: string }>({
    query: `mutation Delete($id: ID!) { deleteAutomation(id: $id) { ${RESULT_ERRORS} ... on DeleteAutomationSuccess { automation { id } } } }`,
    variables: { id },
    field: 'deleteAutomation',
    key: 'automation',
  })
}

/** TypeScript type errors of the current version (slow the first time: the server loads its checker). */
export async function codeWarnings(id: string): Promise<{ line: number; message: string }[]> {
  const data = await request<{ automation: { codeWarnings: { line: number; message: string }[] } | null }>(
    'query CodeWarnings($id: ID!) { automation(id: $id) { codeWarnings { line message } } }',
    { id },
  )
  return data.automation?.codeWarnings ?? []
}
