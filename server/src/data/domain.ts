/**
 * Terminology of data features (see shared/DESIGN.md).
 *
 * - Storage: a table of the organization's warehouse schema, reached only
 *   through the organization's restricted role.
 * - Datasource: where rows are read. POSTGRES (a sealed connection string),
 *   FILE (an uploaded CSV/XLSX) or the built-in WAREHOUSE (id `warehouse`).
 * - Source: a datasource plus what to read from it (a table or a query).
 * - Stage: a `_sy_`-prefixed table a load fills before it replaces, appends
 *   to or upserts into its target storage in one transaction.
 * - Metric: a number computed on a table, kept with history. Check: a rule on
 *   a value with outcome OK / WARNING / ERROR.
 * - Variable: a named value (or expression) at organization or automation
 *   scope; run parameters override it; `${name}` binds it as a SQL parameter.
 */

export const WAREHOUSE_ID = 'warehouse'

export const DatasourceType = { WAREHOUSE: 'WAREHOUSE', POSTGRES: 'POSTGRES', FILE: 'FILE' } as const
export type DatasourceType = (typeof DatasourceType)[keyof typeof DatasourceType]

export const DatasourcePermission = { USE: 'USE', MANAGE: 'MANAGE' } as const
export type DatasourcePermission = (typeof DatasourcePermission)[keyof typeof DatasourcePermission]

export const LoadMode = { REPLACE: 'REPLACE', APPEND: 'APPEND', UPSERT: 'UPSERT' } as const
export type LoadMode = (typeof LoadMode)[keyof typeof LoadMode]

export const CheckOutcome = { OK: 'OK', WARNING: 'WARNING', ERROR: 'ERROR' } as const
export type CheckOutcome = (typeof CheckOutcome)[keyof typeof CheckOutcome]

export const FileFormat = { CSV: 'CSV', XLSX: 'XLSX' } as const
export type FileFormat = (typeof FileFormat)[keyof typeof FileFormat]
