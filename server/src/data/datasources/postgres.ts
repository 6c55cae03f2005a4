import type { Readable } from 'node:stream'
import postgres from 'postgres'
import { z } from 'zod'
import type { Egress } from '../../egress'
import { RunFailure } from '../../kinds/kind'
import { swapSecretReferences } from '../../secrets/references'
import { type ResultLimits, ResultReader } from '../../warehouse/limits'
import type { Column, RowStream, TextRow } from '../rows'

/**
 * `${secret.NAME}` references swapped for plain tokens, so a connection string
 * holding them parses as a URL (a reference may stand for the host, the
 * password, the database...), and a way back from a parsed part to references.
 */
function withReferencesSwapped(s: string): { url: string; back(part: string): string } {
  const names: string[] = []
  const url = swapSecretReferences(s, (name, i) => {
    names.push(name)
    return `sysecretref${i}x`
  })
  const back = (part: string) =>
    part.replace(/sysecretref(\d+)x/g, (m, i: string) =>
      names[Number(i)] ? `\${secret.${names[Number(i)]}}` : m,
    )
  return { url, back }
}

export const ConnectionString = z
  .string()
  .trim()
  .max(2000)
  .refine((s) => /^postgres(ql)?:\/\//.test(s), 'must start with postgres:// or postgresql://')
  .refine((s) => {
    try {
      return new URL(withReferencesSwapped(s).url).hostname.length > 0
    } catch {
      return false
    }
  }, 'is not a valid connection URL (postgres://user:password@host:5432/database)')

/**
 * What may be shown of a connection string: everything but the password. On a
 * stored string `${secret.NAME}` references stay references (never their values).
 */
export function describeConnection(connection: string): {
  host: string
  port: number
  database: string
  user: string
  sslmode: string | null
} {
  const { url, back } = withReferencesSwapped(connection)
  const u = new URL(url)
  const user = back(decodeURIComponent(u.username))
  return {
    host: back(u.hostname),
    port: Number(u.port || 5432),
    database: back(decodeURIComponent(u.pathname.replace(/^\//, ''))) || user,
    user,
    sslmode: u.searchParams.get('sslmode'),
  }
}

/**
 * One short-lived connection for one run or one test; the caller ends it. The socket is
 * opened by the egress policy, on the address it checked; postgres.js then speaks TLS over
 * it with the host name kept for SNI.
 */
export function connect(url: string, egress: Egress, connectTimeoutS = 10): postgres.Sql {
  return postgres(url, {
    max: 1,
    connect_timeout: connectTimeoutS,
    // Missing from postgres.js's types, documented and used by its source (connection.js).
    ...({ socket: openSocket } as object),
    idle_timeout: 10,
    prepare: false,
    onnotice: () => {},
    connection: { application_name: 'switchyard-datasource' },
  })

  function openSocket(options: { path?: string }) {
    const target = socketTarget(url)
    // A unix socket (host=/run/postgresql) is this machine's own server: never a datasource.
    if (options.path || !target) {
      throw Object.assign(
        new Error('a datasource connects over TCP only; unix sockets (host=/path) are refused'),
        { code: 'EGRESS_REFUSED' },
      )
    }
    return egress.connect({ ...target, timeoutMs: connectTimeoutS * 1000 })
  }
}

/**
 * Host and port to dial, read from the URL as postgres.js would (a `host` parameter wins),
 * but with WHATWG parsing: postgres.js reads `[::ffff:127.0.0.1]` as the host "[".
 * Undefined for a unix socket.
 */
function socketTarget(url: string): { host: string; port: number } | undefined {
  const u = new URL(url)
  const host = u.searchParams.get('host') ?? u.hostname
  if (host.startsWith('/')) return undefined
  return { host, port: Number(u.searchParams.get('port') || u.port || 5432) }
}

/** Says why a datasource could not be reached, without the password. */
export function connectionFailure(name: string, url: string, err: unknown): RunFailure {
  const d = describeConnection(url)
  const e = err as { code?: string; message?: string }
  const why =
    e.code === 'EGRESS_REFUSED'
      ? (e.message ?? String(err))
      : e.code === 'ECONNREFUSED'
        ? 'connection refused (is the server running and the port right?)'
        : e.code === 'CONNECT_TIMEOUT'
          ? 'connection timed out'
          : e.code === 'ENOTFOUND'
            ? 'host not found'
            : e.code === '28P01' || e.code === '28000'
              ? 'authentication failed (check user and password)'
              : e.code === '3D000'
                ? 'database does not exist'
                : (e.message ?? String(err))
  return new RunFailure(
    `could not connect to datasource "${name}" (${d.host}:${d.port}/${d.database}): ${why}`,
  )
}

const CONNECT_CODES = new Set([
  'EGRESS_REFUSED',
  'ECONNREFUSED',
  'CONNECT_TIMEOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  '28P01',
  '28000',
  '3D000',
])
export const isConnectFailure = (err: unknown): boolean =>
  CONNECT_CODES.has((err as { code?: string }).code ?? '')

/** Connects, asks the server's version, disconnects. */
export async function testConnection(
  name: string,
  url: string,
  egress: Egress,
): Promise<{ ok: boolean; message: string; latencyMs: number | null; serverVersion: string | null }> {
  const sql = connect(url, egress, 10)
  const started = Date.now()
  try {
    const [row] = await sql<{ v: string }[]>`select current_setting('server_version') as v`
    return { ok: true, message: 'connected', latencyMs: Date.now() - started, serverVersion: row?.v ?? null }
  } catch (err) {
    return {
      ok: false,
      message: connectionFailure(name, url, err).message,
      latencyMs: null,
      serverVersion: null,
    }
  } finally {
    await sql.end({ timeout: 2 }).catch(() => {})
  }
}

// Types that only make sense where they were defined (pseudo and catalog types) land as text.
const AS_TEXT = new Set([
  'unknown',
  'record',
  'name',
  'void',
  '"char"',
  'aclitem[]',
  'pg_node_tree',
  'oid',
  'regclass',
])

/** Warehouse column types for the OIDs a source returned; custom types (enums, domains) become text. */
async function typeNames(tx: postgres.TransactionSql, oids: number[]): Promise<Map<number, string>> {
  const rows = await tx.unsafe<{ oid: number; name: string; builtin: boolean }[]>(
    `select t.oid::int as oid, format_type(t.oid, null) as name, n.nspname = 'pg_catalog' as builtin
     from pg_type t join pg_namespace n on n.oid = t.typnamespace where t.oid = any($1::oid[])`,
    [`{${[...new Set(oids)].join(',')}}`],
  )
  return new Map(rows.map((r) => [r.oid, r.builtin && !AS_TEXT.has(r.name) ? r.name : 'text']))
}

export interface StreamOptions {
  name: string
  timeoutMs: number
  batchRows: number
  signal: AbortSignal
  /** Opens the connection; the datasource's address must pass the egress policy. */
  egress: Egress
}

/**
 * Reads a whole table as COPY text, handed to `consume` as a byte stream with
 * backpressure: nothing is parsed on the way, so a sync into a warehouse on a
 * server is one COPY piped into another.
 */
export async function copyTable<T>(
  url: string,
  table: string,
  opts: StreamOptions,
  consume: (columns: Column[], data: Readable) => Promise<T>,
): Promise<T> {
  return inReadOnly(url, opts, async (tx) => {
    const select = `select * from ${table}`
    const described = await tx.unsafe(select).describe()
    const types = await typeNames(
      tx,
      described.columns.map((c) => c.type),
    )
    const columns: Column[] = described.columns.map((c) => ({
      name: c.name,
      type: types.get(c.type) ?? 'text',
    }))
    const data = (await tx.unsafe(`copy (${select}) to stdout`).readable()) as unknown as Readable
    try {
      return await consume(columns, data)
    } finally {
      // postgres.js pauses its socket when this stream's buffer is full and resumes it only
      // from _read(); if that happens on the last chunk, the stream ends with the socket
      // paused and the transaction's COMMIT reply is never read. Resume it once more.
      data._read(0)
    }
  })
}

/**
 * Runs a query on a PostgreSQL datasource in a read-only transaction and
 * hands its rows, as text and in batches from a cursor, to `consume`. Memory
 * stays bounded by one batch whatever the result size.
 */
export async function streamQuery<T>(
  url: string,
  text: string,
  params: unknown[],
  opts: StreamOptions,
  consume: (rows: RowStream) => Promise<T>,
): Promise<T> {
  return inReadOnly(url, opts, async (tx) => {
    const described = await tx.unsafe(text, params as never[]).describe()
    const types = await typeNames(
      tx,
      described.columns.map((c) => c.type),
    )
    const columns: Column[] = described.columns.map((c) => ({
      name: c.name,
      type: types.get(c.type) ?? 'text',
    }))
    const cursor = tx
      .unsafe(text, params as never[])
      .raw()
      .cursor(opts.batchRows)
    async function* batches(): AsyncGenerator<TextRow[]> {
      for await (const rows of cursor) {
        yield (rows as unknown as (Buffer | null)[][]).map((r) =>
          r.map((b) => (b === null ? null : b.toString('utf8'))),
        )
      }
    }
    return consume({ columns, batches: batches() })
  })
}

/** Runs a small query (a metric, a check, an alarm) on a datasource, read-only; values parsed by the driver. */
export function queryRows<R = Record<string, unknown>>(
  url: string,
  text: string,
  params: unknown[],
  opts: Omit<StreamOptions, 'batchRows'>,
): Promise<R[]> {
  return inReadOnly(
    url,
    { ...opts, batchRows: 0 },
    async (tx) => [...(await tx.unsafe(text, params as never[]))] as R[],
  )
}

/** Rows per round trip of a capped read: megabyte rows stay a few dozen MB in flight. */
const CURSOR_ROWS = 50

/**
 * Runs a user's statement (the SQL kind on a datasource) read-only through a cursor,
 * under the same result caps as the warehouse: the first `keep` rows are kept, the
 * rest counted, and a result over a cap fails as soon as it passes it.
 */
export function readCapped(
  url: string,
  text: string,
  params: unknown[],
  opts: Omit<StreamOptions, 'batchRows'> & { limits: ResultLimits; keep: number },
): Promise<{ rows: Record<string, unknown>[]; rowCount: number; command: string | undefined }> {
  return inReadOnly(url, { ...opts, batchRows: CURSOR_ROWS }, async (tx, close) => {
    const reader = new ResultReader(opts.limits, opts.keep)
    let failure: unknown
    const done = (await tx.unsafe(text, params as never[]).cursor(CURSOR_ROWS, (batch) => {
      try {
        reader.add(batch as unknown as Record<string, unknown>[])
      } catch (err) {
        // Stops reading (throwing here would escape postgres.js on the last batch).
        failure = err
        return close as never
      }
    })) as unknown as { count?: number | null; command?: string } | undefined
    if (failure) throw failure
    const count = done?.count ?? null
    return {
      rows: reader.rows,
      rowCount: reader.rowCount > 0 || count === null ? reader.rowCount : count,
      command: done?.command,
    }
  })
}

/** One read-only transaction on a short-lived connection, with errors that name the datasource. */
export async function inReadOnly<T>(
  url: string,
  opts: StreamOptions,
  /** `close`, returned from a cursor's batch, stops the cursor. */
  fn: (tx: postgres.TransactionSql, close: object) => Promise<T>,
): Promise<T> {
  const sql = connect(url, opts.egress)
  const onAbort = () => void sql.end({ timeout: 0 })
  opts.signal.addEventListener('abort', onAbort, { once: true })
  let connected = false
  try {
    return (await sql.begin('read only', async (tx) => {
      connected = true
      await tx.unsafe(`set local statement_timeout = ${Math.max(100, Math.floor(opts.timeoutMs))}`)
      return fn(tx, sql.CLOSE)
    })) as T
  } catch (err) {
    if (!connected || isConnectFailure(err)) throw connectionFailure(opts.name, url, err)
    if (err instanceof RunFailure) throw err
    const e = err as { code?: string; message?: string }
    throw new RunFailure(
      `SQL error on datasource "${opts.name}"${e.code ? ` ${e.code}` : ''}: ${e.message ?? String(err)}`,
    )
  } finally {
    opts.signal.removeEventListener('abort', onAbort)
    await sql.end({ timeout: 5 }).catch(() => {})
  }
}
