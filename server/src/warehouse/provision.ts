import postgres from 'postgres'
import type { Queryable } from '../db/database'

/** The server connection that creates warehouses: SWITCHYARD_WAREHOUSE_URL, else DATABASE_URL. */
export interface Provisioner {
  /** Creates (or repairs) the role and database named `name`, reachable only by that role. */
  provision(name: string, password: string): Promise<void>
  stop(): Promise<void>
}

const ident = (n: string) => {
  if (!/^[a-z_][a-z0-9_]*$/.test(n)) throw new Error(`invalid warehouse name ${n}`)
  return `"${n}"`
}

/** The URL of database `name` on the provisioning server, logged in as `user` when given. */
export function databaseUrl(base: string, name: string, user?: { name: string; password: string }): string {
  const u = new URL(base)
  u.pathname = `/${name}`
  if (user) {
    u.username = user.name
    u.password = user.password
  }
  return u.toString()
}

/**
 * Creates warehouses on a server. Every step is idempotent, so a node that
 * died half-way (CREATE DATABASE cannot run in a transaction) is repaired by
 * the next ensure. Steps are serialised across nodes by an advisory lock held
 * in the platform's database, where no user statement runs.
 */
export function createProvisioner(
  platform: { transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> },
  adminUrl: string,
): Provisioner {
  const admin = postgres(adminUrl, {
    max: 2,
    onnotice: () => {},
    connection: { application_name: 'switchyard-provision' },
  })
  return {
    async provision(name, password) {
      const id = ident(name)
      await platform.transaction(async (tx) => {
        await tx.query('select pg_advisory_xact_lock(hashtext($1))', [name])
        const [role] = await admin`select 1 from pg_roles where rolname = ${name}`
        // No superuser, createdb, createrole or replication (the defaults); a few connections at most.
        if (!role) await admin.unsafe(`create role ${id} login password '${password}' connection limit 8`)
        else await admin.unsafe(`alter role ${id} login password '${password}'`)
        const [me] = await admin`select rolsuper from pg_roles where rolname = current_user`
        // A non-superuser may give a database to a role only when it may act as it.
        if (!me?.rolsuper) await admin.unsafe(`grant ${id} to current_user`)
        const [database] = await admin`select 1 from pg_database where datname = ${name}`
        if (!database) await admin.unsafe(`create database ${id} owner ${id}`)
        // PUBLIC may connect to a new database by default: only its own role may.
        await admin.unsafe(`revoke all on database ${id} from public`)
        await admin.unsafe(`grant connect, temporary on database ${id} to ${id}`)
        // Still under the lock: two nodes changing the schema's owner at once failed one of
        // them with "tuple concurrently updated".
        const inside = postgres(databaseUrl(adminUrl, name), { max: 1, onnotice: () => {} })
        try {
          // Before PostgreSQL 15 every role may create in public; make it the organization's alone.
          await inside.unsafe(`alter schema public owner to ${id}`)
          await inside.unsafe('revoke all on schema public from public')
        } finally {
          await inside.end({ timeout: 2 })
        }
      })
    },
    stop: () => admin.end({ timeout: 2 }),
  }
}
