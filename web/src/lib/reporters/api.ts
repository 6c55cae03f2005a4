import { RESULT_ERRORS, mutate, type Outcome, request } from '$lib/api/graphql'

import type { Json } from '$lib/api/types'

type Fetch = typeof fetch

// Shapes of the server's reporter types (server/src/reporters/graphql.ts) as selected here.
export const CHANNEL_TYPES = ['MAIL', 'SLACK', 'TEAMS', 'WEBHOOK', 'TWILIO_SMS', 'DATASET'] as const
export type ChannelType = (typeof CHANNEL_TYPES)[number]
export const REPORTER_CONDITIONS = [
  'ANY',
  'SUCCEEDED',
  'FAILED',
  'NOT_SUCCEEDED',
  'CANCELLED',
  'TIMED_OUT',
  'EXPRESSION',
] as const
export type ReporterCondition = (typeof REPORTER_CONDITIONS)[number]

export interface ChannelConnection {
  id: string
  name: string
  type: ChannelType
  config?: Record<string, unknown>
  updatedAt: string
}

export interface ChannelInfo {
  type: ChannelType
  defaultTemplate: string
  templateLanguage: string
  /** JSON Schema of a connection's settings and of a reporter's target: their forms are drawn from them. */
  connectionSchema: Json
  targetSchema: Json
}

export interface Reporter {
  id: string
  name: string
  event: 'START' | 'END'
  condition: ReporterCondition
  expression: string | null
  template: string
  target: Record<string, unknown>
  enabled: boolean
  connection: { id: string; name: string; type: ChannelType }
}

export interface ReporterInput {
  name: string
  connectionId: string
  event: 'START' | 'END'
  condition: ReporterCondition
  expression: string | null
  template: string
  target: unknown
  enabled: boolean
}

export interface Delivery {
  id: string
  reporterName: string | null
  channel: string | null
  outcome: string
  state: 'QUEUED' | 'SENDING' | 'DELIVERED' | 'FAILED' | 'SKIPPED'
  attempts: number
  maxAttempts: number
  nextAttemptAt: string | null
  responseCode: number | null
  error: string | null
  detail: string | null
  createdAt: string
  deliveredAt: string | null
}

export interface TestResult {
  ok: boolean
  responseCode: number | null
  detail: string | null
  error: string | null
}

export interface Preview {
  runId: string | null
  body: string | null
  subject: string | null
  payload: unknown
  error: string | null
}

/** What an admin starts from for each channel (credentials are secret references). */
export const CONFIG_EXAMPLES: Record<ChannelType, Record<string, unknown>> = {
  MAIL: {
    host: 'smtp.example.com',
    port: 587,
    security: 'STARTTLS',
    username: 'reports@example.com',
    password: '$' + '{secret.SMTP_PASSWORD}',
    from: 'Switchyard <reports@example.com>',
  },
  SLACK: { mode: 'WEBHOOK', webhookUrl: '$' + '{secret.SLACK_WEBHOOK_URL}' },
  TEAMS: { webhookUrl: '$' + '{secret.TEAMS_WEBHOOK_URL}' },
  WEBHOOK: {
    url: 'https://hooks.example.com/switchyard',
    method: 'POST',
    headers: {},
    hmacSecret: '$' + '{secret.WEBHOOK_SIGNING_KEY}',
  },
  TWILIO_SMS: {
    accountSid: 'AC00000000000000000000000000000000',
    authToken: '$' + '{secret.TWILIO_AUTH_TOKEN}',
    from: '+15005550006',
  },
  DATASET: {},
}

/** What a reporter's target holds per channel. */
export const TARGET_EXAMPLES: Record<ChannelType, Record<string, unknown>> = {
  MAIL: { to: ['team@example.com'], cc: [], subject: '[Switchyard] {{ automation.name }} {{ run.state }}' },
  SLACK: {},
  TEAMS: {},
  WEBHOOK: {},
  TWILIO_SMS: { to: ['+41791234567'] },
  DATASET: { storage: 'run_reports' },
}

const REPORTER_FIELDS =
  'id name event condition expression template target enabled connection { id name type }'
const DELIVERY_FIELDS =
  'id reporterName channel outcome state attempts maxAttempts nextAttemptAt responseCode error detail createdAt deliveredAt'

export async function listConnections(admin: boolean, fetchFn?: Fetch): Promise<ChannelConnection[]> {
  return (
    await request<{ channelConnections: ChannelConnection[] }>(
      `query ChannelConnections { channelConnections { id name type updatedAt ${admin ? 'config' : ''} } }`,
      {},
      fetchFn,
    )
  ).channelConnections
}

export async function listChannelTypes(fetchFn?: Fetch): Promise<ChannelInfo[]> {
  return (
    await request<{ channelTypes: ChannelInfo[] }>(
      'query ChannelTypes { channelTypes { type defaultTemplate templateLanguage connectionSchema targetSchema } }',
      {},
      fetchFn,
    )
  ).channelTypes
}

export async function listReporters(automationId: string, fetchFn?: Fetch): Promise<Reporter[]> {
  const r = await request<{ automation: { reporters: Reporter[] } | null }>(
    `query Reporters($id: ID!) { automation(id: $id) { reporters { ${REPORTER_FIELDS} } } }`,
    { id: automationId },
    fetchFn,
  )
  return r.automation?.reporters ?? []
}

export async function listDeliveries(runId: string, fetchFn?: Fetch): Promise<Delivery[]> {
  const r = await request<{ run: { deliveries: Delivery[] } | null }>(
    `query Deliveries($id: ID!) { run(id: $id) { deliveries { ${DELIVERY_FIELDS} } } }`,
    { id: runId },
    fetchFn,
  )
  return r.run?.deliveries ?? []
}

export function saveConnection(
  id: string | null,
  input: { name: string; type: ChannelType; config: unknown },
): Promise<Outcome<ChannelConnection>> {
  const field = id ? 'updateChannelConnection' : 'createChannelConnection'
  return mutate({
    query: id
      ? `mutation($id: ID!, $i: ChannelConnectionInput!) { updateChannelConnection(id: $id, input: $i) {
          ${RESULT_ERRORS} ... on UpdateChannelConnectionSuccess { connection { id } } } }`
      : `mutation($i: ChannelConnectionInput!) { createChannelConnection(input: $i) {
          ${RESULT_ERRORS} ... on CreateChannelConnectionSuccess { connection { id } } } }`,
    variables: { id, i: input },
    field,
    key: 'connection',
  })
}

export function deleteConnection(id: string): Promise<Outcome<unknown>> {
  return mutate({
    query: `mutation($id: ID!) { deleteChannelConnection(id: $id) { ${RESULT_ERRORS} } }`,
    variables: { id },
    field: 'deleteChannelConnection',
  })
}

export function testConnection(id: string): Promise<Outcome<TestResult>> {
  return mutate({
    query: `mutation($id: ID!) { testChannelConnection(id: $id) {
      ${RESULT_ERRORS} ... on TestChannelConnectionSuccess { result { ok responseCode detail error } } } }`,
    variables: { id },
    field: 'testChannelConnection',
    key: 'result',
  })
}

export function saveReporter(
  automationId: string,
  id: string | null,
  input: ReporterInput,
): Promise<Outcome<Reporter>> {
  return mutate({
    query: id
      ? `mutation($id: ID!, $i: ReporterInput!) { updateReporter(id: $id, input: $i) {
          ${RESULT_ERRORS} ... on UpdateReporterSuccess { reporter { ${REPORTER_FIELDS} } } } }`
      : `mutation($a: ID!, $i: ReporterInput!) { createReporter(automationId: $a, input: $i) {
          ${RESULT_ERRORS} ... on CreateReporterSuccess { reporter { ${REPORTER_FIELDS} } } } }`,
    variables: { id, a: automationId, i: input },
    field: id ? 'updateReporter' : 'createReporter',
    key: 'reporter',
  })
}

export function deleteReporter(id: string): Promise<Outcome<unknown>> {
  return mutate({
    query: `mutation($id: ID!) { deleteReporter(id: $id) { ${RESULT_ERRORS} } }`,
    variables: { id },
    field: 'deleteReporter',
  })
}

export function testReporter(id: string): Promise<Outcome<TestResult>> {
  return mutate({
    query: `mutation($id: ID!) { testReporter(id: $id) {
      ${RESULT_ERRORS} ... on TestReporterSuccess { result { ok responseCode detail error } } } }`,
    variables: { id },
    field: 'testReporter',
    key: 'result',
  })
}

export async function previewReporter(automationId: string, input: ReporterInput): Promise<Outcome<Preview>> {
  try {
    const r = await request<{ reporterPreview: Record<string, unknown> }>(
      `query($a: ID!, $i: ReporterInput!) { reporterPreview(automationId: $a, input: $i) {
        __typename ... on Error { message } ... on ReporterPreviewSuccess { preview { runId body subject payload error } } } }`,
      { a: automationId, i: input },
    )
    const u = r.reporterPreview
    if (typeof u.message === 'string') return { ok: false, failure: { message: u.message, issues: [] } }
    return { ok: true, value: u.preview as Preview }
  } catch (err) {
    return { ok: false, failure: { message: err instanceof Error ? err.message : String(err), issues: [] } }
  }
}
