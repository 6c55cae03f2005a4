import { type Table, getTableColumns } from 'drizzle-orm'
import { channelConnections, deliveries, reporters } from '../db/schema/reporters'

/** `connectionId` → `connection_id`: rows are read as SQL returns them (as the engine does). */
type Snake<S extends string> = S extends `${infer H}${infer T}`
  ? `${H extends Lowercase<H> ? H : `_${Lowercase<H>}`}${Snake<T>}`
  : S
type SnakeRow<T extends Table> = { [K in keyof T['$inferSelect'] as Snake<K & string>]: T['$inferSelect'][K] }

const columnsOf = (t: Table, alias?: string) =>
  Object.values(getTableColumns(t))
    .map((c) => (alias ? `${alias}.${c.name}` : c.name))
    .join(', ')

export type ConnectionRow = SnakeRow<typeof channelConnections>
export type ReporterRow = SnakeRow<typeof reporters>
export type DeliveryRow = SnakeRow<typeof deliveries>

export const CONNECTION_COLUMNS = columnsOf(channelConnections)
export const REPORTER_COLUMNS = columnsOf(reporters)
export const DELIVERY_COLUMNS = columnsOf(deliveries)
export const deliveryColumnsOf = (alias: string) => columnsOf(deliveries, alias)
