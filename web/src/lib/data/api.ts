import { RESULT_ERRORS, mutate, type Outcome, request } from '$lib/api/graphql'
import type { Json } from '$lib/api/types'

type Fetch = typeof fetch

export interface StorageColumn {
  name: string
  type: string
  nullable: boolean
}

export interface Storage {
  name: string
  kind: 'TABLE' | 'VIEW'
  columns: StorageColumn[]
  rowCount: number
  modifiedAt: string | null
  lastRunId: string | null
}

export interface StoragePage {
  columns: string[]
  rows: Json[][]
  offset: number
  hasMore: boolean
}

export interface Datasource {
  id: string
  name: string
  type: 'WAREHOUSE' | 'POSTGRES' | 'FILE'
  description: string
  viewerPermission: 'USE' | 'MANAGE'
  connection: { host: string; port: number; database: string; user: string; sslmode: string | null } | null
  file: { name: string; format: string; size: number } | null
  createdAt: string | null
}

export interface DatasourceTest {
  ok: boolean
  message: string
  latencyMs: number | null
  serverVersion: string | null
}

export const CHECK_OUTCOMES = ['OK', 'WARNING', 'ERROR'] as const
export type CheckOutcome = (typeof CHECK_OUTCOMES)[number]

export interface Metric {
  datasourceId: string
  table: string
  name: string
  value: number | null
  computedAt: string
  automationId: string | null
  history: { computedAt: string; value: number | null; runId: string | null }[]
}

export interface Check {
  automationId: string
  name: string
  outcome: CheckOutcome
  message: string
  value: number | null
  blocking: boolean
  checkedAt: string
  history: {
    checkedAt: string
    outcome: CheckOutcome
    value: number | null
    message: string
    runId: string | null
  }[]
}

/** Rows per page of a storage preview. */
export const STORAGE_PAGE_SIZE = 50

const STORAGE_FIELDS = 'name kind columns { name type nullable } modifiedAt lastRunId'

/** Storages of the warehouse; `rowCount` is exact (the server counts each table). */
export async function listStorages(fetchFn?: Fetch): Promise<Storage[]> {
  return (
    await request<{ storages: Storage[] }>(
      `query Storages { storages { ${STORAGE_FIELDS} rowCount } }`,
      {},
      fetchFn,
    )
  ).storages
}

export async function getStorage(name: string, fetchFn?: Fetch): Promise<Storage | null> {
  return (
    await request<{ storage: Storage | null }>(
      `query Storage($n: String!) { storage(name: $n) { ${STORAGE_FIELDS} rowCount } }`,
      { n: name },
      fetchFn,
    )
  ).storage
}

export async function storageRows(
  opts: { name: string; offset: number; limit: number; orderBy?: { column: string; descending: boolean }[] },
  fetchFn?: Fetch,
): Promise<Outcome<StoragePage>> {
  const data = await request<{ storageRows: unknown }>(
    `query StorageRows($n: String!, $o: Int, $l: Int, $ob: [StorageOrderBy!]) {
      storageRows(name: $n, offset: $o, limit: $l, orderBy: $ob) {
        ${RESULT_ERRORS} ... on StorageRowsSuccess { page { columns rows offset hasMore } } } }`,
    { n: opts.name, o: opts.offset, l: opts.limit, ob: opts.orderBy ?? [] },
    fetchFn,
  )
  const r = data.storageRows as { page?: StoragePage; message?: string; issues?: [] }
  return r.page
    ? { ok: true, value: r.page }
    : { ok: false, failure: { message: r.message ?? '', issues: r.issues ?? [] } }
}

const DATASOURCE_FIELDS = `id name type description viewerPermission createdAt
  connection { host port database user sslmode } file { name format size }`

export async function listDatasources(fetchFn?: Fetch): Promise<Datasource[]> {
  return (
    await request<{ datasources: Datasource[] }>(
      `query Datasources { datasources { ${DATASOURCE_FIELDS} } }`,
      {},
      fetchFn,
    )
  ).datasources
}

export function createPostgresDatasource(input: {
  name: string
  description: string
  connectionString: string
}): Promise<Outcome<Datasource>> {
  return mutate<Datasource>({
    query: `mutation CreateDatasource($i: CreatePostgresDatasourceInput!) { createPostgresDatasource(input: $i) {
      ${RESULT_ERRORS} ... on CreatePostgresDatasourceSuccess { datasource { ${DATASOURCE_FIELDS} } } } }`,
    variables: { i: input },
    field: 'createPostgresDatasource',
    key: 'datasource',
  })
}

/** Tests a saved datasource (id) or, for admins, a connection string before saving it. */
export function testDatasource(
  target: { id: string } | { connectionString: string },
): Promise<Outcome<DatasourceTest>> {
  return mutate<DatasourceTest>({
    query: `mutation TestDatasource($id: ID, $cs: String) { testDatasource(id: $id, connectionString: $cs) {
      ${RESULT_ERRORS} ... on TestDatasourceSuccess { result { ok message latencyMs serverVersion } } } }`,
    variables: 'id' in target ? { id: target.id } : { cs: target.connectionString },
    field: 'testDatasource',
    key: 'result',
  })
}

export function deleteDatasource(id: string): Promise<Outcome<unknown>> {
  return mutate({
    query: `mutation DeleteDatasource($id: ID!) { deleteDatasource(id: $id) { ${RESULT_ERRORS} } }`,
    variables: { id },
    field: 'deleteDatasource',
  })
}

/** Metrics with their last `depth` values, and checks with their last `depth` outcomes. */
export async function listQuality(
  depth: number,
  fetchFn?: Fetch,
): Promise<{ metrics: Metric[]; checks: Check[] }> {
  return request<{ metrics: Metric[]; checks: Check[] }>(
    `query Quality($d: Int) {
      metrics { datasourceId table name value computedAt automationId history(first: $d) { computedAt value runId } }
      checks { automationId name outcome message value blocking checkedAt history(first: $d) { checkedAt outcome value message runId } }
    }`,
    { d: depth },
    fetchFn,
  )
}
