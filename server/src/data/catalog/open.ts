import type { UserViewer } from '../../auth/viewer'
import { ValidationError } from '../../errors'
import { RunFailure } from '../../kinds/kind'
import { connectionFor, datasourceFor, storedConnectionString } from '../datasources/service'
import { WAREHOUSE_ID } from '../domain'
import type { DataServices } from '../services'

/** A datasource opened for the signed-in user (not for a run): browsing and previews. */
export type ViewerSource =
  | { type: 'WAREHOUSE'; id: typeof WAREHOUSE_ID; name: string }
  | { type: 'POSTGRES'; id: string; name: string; url: string; redact(text: string): string }
  | { type: 'FILE'; id: string; name: string }

/** How long one catalog read or preview may take: a form waits for it. */
export const BROWSE_TIMEOUT_MS = 15_000

/**
 * Opens a datasource with the checks a run makes, but for the viewer: the
 * viewer must be granted it (others look like it does not exist), and its
 * connection string's secrets are filled only for this connection.
 */
export async function openForViewer(
  data: DataServices,
  viewer: UserViewer,
  id: string,
): Promise<ViewerSource> {
  if (id === WAREHOUSE_ID) return { type: 'WAREHOUSE', id: WAREHOUSE_ID, name: 'warehouse' }
  const { row } = await datasourceFor(data.db, viewer, id, 'USE')
  if (row.type !== 'POSTGRES') return { type: 'FILE', id: row.id, name: row.name }
  const c = await connectionFor(data, viewer.orgId, storedConnectionString(data, row))
  return { type: 'POSTGRES', id: row.id, name: row.name, url: c.url, redact: c.redact }
}

/**
 * A failure reading a source, as a typed answer beside the field that caused it:
 * an unreachable server beside the datasource, an SQL error beside the query.
 */
export function asIssue(err: unknown, source: ViewerSource, path: string): never {
  if (!(err instanceof RunFailure)) throw err
  const message = source.type === 'POSTGRES' ? source.redact(err.message) : err.message
  const where = /^could not connect/.test(message) ? 'datasourceId' : path
  throw new ValidationError(message, [{ path: where, message }])
}
