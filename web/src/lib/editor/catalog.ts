import { request } from '$lib/api/graphql'
import type { SqlCatalog } from './codemirror'

/** The warehouse's storages and their columns, for SQL completion. */
export async function warehouseCatalog(fetchFn?: typeof fetch): Promise<SqlCatalog> {
  const data = await request<{ storages: { name: string; columns: { name: string }[] }[] }>(
    'query Catalog { storages { name columns { name } } }',
    {},
    fetchFn,
  )
  return Object.fromEntries(data.storages.map((s) => [s.name, s.columns.map((c) => c.name)]))
}
