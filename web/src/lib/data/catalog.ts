import { RESULT_ERRORS, type Outcome, outcome, request } from '$lib/api/graphql'
import type { Json } from '$lib/api/types'

export interface CatalogTable {
  schema: string
  name: string
  kind: 'TABLE' | 'VIEW'
  /** What a config's `table` takes. */
  ref: string
  columns: { name: string; type: string; nullable: boolean }[]
}

export interface Catalog {
  schemas: string[]
  tables: CatalogTable[]
  truncated: boolean
}

export interface QueryPreview {
  columns: string[]
  rows: Json[][]
  hasMore: boolean
  omittedRows: number
}

/** Asks a query with a typed result union, as mutations do (the union is the field's value). */
async function ask<T>(
  query: string,
  variables: Record<string, unknown>,
  field: string,
  key: string,
): Promise<Outcome<T>> {
  try {
    const data = await request<Record<string, unknown>>(query, variables)
    return outcome<T>(data[field], key)
  } catch (err) {
    return { ok: false, failure: { message: err instanceof Error ? err.message : String(err), issues: [] } }
  }
}

/** Schemas, tables and columns of a datasource (the warehouse: its storages). */
export function datasourceCatalog(datasourceId: string, schema?: string): Promise<Outcome<Catalog>> {
  return ask<Catalog>(
    `query Catalog($id: ID!, $schema: String) { datasourceCatalog(datasourceId: $id, schema: $schema) {
      ${RESULT_ERRORS} ... on DatasourceCatalogSuccess { catalog { schemas truncated
        tables { schema name kind ref columns { name type nullable } } } } } }`,
    { id: datasourceId, schema },
    'datasourceCatalog',
    'catalog',
  )
}

/** The first 20 rows of a query, read-only; `parameters` fill `${name}`. */
export function previewQuery(opts: {
  datasourceId: string
  query: string
  parameters?: Record<string, Json>
}): Promise<Outcome<QueryPreview>> {
  return ask<QueryPreview>(
    `query Preview($id: ID!, $q: String!, $p: JSON) { previewQuery(datasourceId: $id, query: $q, parameters: $p) {
      ${RESULT_ERRORS} ... on PreviewQuerySuccess { preview { columns rows hasMore omittedRows } } } }`,
    { id: opts.datasourceId, q: opts.query, p: opts.parameters ?? {} },
    'previewQuery',
    'preview',
  )
}
