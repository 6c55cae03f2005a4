import { pgTable, text, uuid } from 'drizzle-orm/pg-core'
import { organizations, timestamptz } from './accounts'

/**
 * Where each organization's warehouse is: a database (and role) of that name
 * on the warehouse server, or a PGlite directory of that name under the data
 * directory. The name is a keyed hash (warehouse/names.ts), opaque on purpose.
 */
export const warehouses = pgTable('warehouses', {
  orgId: uuid('org_id')
    .primaryKey()
    .references(() => organizations.id, { onDelete: 'cascade' }),
  name: text('name').notNull().unique(),
  createdAt: timestamptz('created_at').notNull().defaultNow(),
})
