import { datasourceCatalog } from '$lib/data/catalog'
import type { SqlCatalog } from './codemirror'

/**
 * A datasource's schemas, tables and columns (the warehouse: its storages, in `public`),
 * for SQL completion; a catalog that cannot be read completes nothing rather than failing the form.
 */
export async function sqlCatalog(datasourceId: string): Promise<SqlCatalog> {
  const r = await datasourceCatalog(datasourceId || 'warehouse')
  if (!r.ok) return {}
  const schemas: Record<string, Record<string, { label: string; type: string; detail: string }[]>> = {}
  for (const t of r.value.tables) {
    schemas[t.schema] ??= {}
    schemas[t.schema]![t.name] = t.columns.map((c) => ({ label: c.name, type: 'property', detail: c.type }))
  }
  return schemas
}
