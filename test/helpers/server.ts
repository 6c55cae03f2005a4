import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Client, createClient } from 'graphql-ws'
import WebSocket from 'ws'
import { type App, startApp } from '../../server/src/app'
import { loadConfig } from '../../server/src/config'
import type { Database } from '../../server/src/db/database'
import { type Logger, createLogger } from '../../server/src/log'
import { type TestDatabase, queueMismatches, testDatabase } from './db'

export const TEST_SECRET_KEY = 'test-secret-key-test-secret-key-0123456789'
export const ADMIN_EMAIL = 'admin@switchyard.test'
export const ADMIN_PASSWORD = 'admin-password'
/**
 * SWITCHYARD_EGRESS_ALLOW for suites whose runs call servers the test started on this
 * machine on purpose (a datasource on the local PostgreSQL, an HTTP receiver): loopback is
 * refused otherwise.
 */
export const LOOPBACK_EGRESS = '127.0.0.0/8,::1,localhost'

export interface GqlResult<T = Record<string, unknown>> {
  data?: T
  errors?: { message: string; extensions?: Record<string, unknown> }[]
}

export interface TestServer {
  app: App
  db: Database
  /** Database URL when on real PostgreSQL (for extra processes). */
  databaseUrl: string | undefined
  url: string
  wsUrl: string
  /** POSTs one GraphQL operation; `token` becomes `Authorization: Bearer`. */
  gql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    opts?: { token?: string; headers?: Record<string, string> },
  ): Promise<GqlResult<T>>
  /** Logs in and returns the bearer token (throws on failure). */
  login(email: string, password: string): Promise<string>
  /** A graphql-ws client for this server; closed with the server. */
  wsClient(token?: string, opts?: { origin?: string }): Client
  stop(): Promise<void>
}

export interface StartOptions {
  /** Reuse a database (several servers against one database). */
  database?: TestDatabase
  env?: Record<string, string>
  /** The server's logger (default: one at TEST_LOG_LEVEL, silent unless set). */
  logger?: Logger
}

/**
 * Starts the whole app in-process on port 0 against a fresh test database
 * (or the one given). Everything it starts is stopped by stop().
 */
export async function startTestServer(opts: StartOptions = {}): Promise<TestServer> {
  const own = !opts.database
  const database = opts.database ?? (await testDatabase())
  const dataDir = mkdtempSync(join(tmpdir(), 'sy-test-'))
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    SWITCHYARD_DATA_DIR: dataDir,
    SWITCHYARD_SECRET_KEY: TEST_SECRET_KEY,
    SWITCHYARD_ADMIN_EMAIL: ADMIN_EMAIL,
    SWITCHYARD_ADMIN_PASSWORD: ADMIN_PASSWORD,
    SWITCHYARD_SEED_DEMO: 'false',
    SWITCHYARD_LEASE_MS: '3000',
    SWITCHYARD_POLL_MS: '1000',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...(database.url ? { DATABASE_URL: database.url } : {}),
    ...opts.env,
  })
  const app = await startApp(config, opts.logger ?? createLogger(config.logLevel), { db: database.db })
  const url = `http://127.0.0.1:${app.port}`
  const clients: Client[] = []
  const gql: TestServer['gql'] = async (query, variables, o) => {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(o?.token ? { authorization: `Bearer ${o.token}` } : {}),
        ...o?.headers,
      },
      body: JSON.stringify({ query, variables }),
    })
    return (await res.json()) as never
  }
  return {
    app,
    db: database.db,
    databaseUrl: database.url,
    url,
    wsUrl: `ws://127.0.0.1:${app.port}/graphql`,
    gql,
    async login(email, password) {
      const r = await gql<{ login: { token?: string; message?: string } }>(
        'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { ... on LoginPayload { token } ... on Error { message } } }',
        { e: email, p: password },
      )
      const token = r.data?.login.token
      if (!token) throw new Error(`login failed: ${JSON.stringify(r)}`)
      return token
    },
    wsClient(token, o) {
      const client = createClient({
        url: `ws://127.0.0.1:${app.port}/graphql`,
        webSocketImpl: class extends WebSocket {
          constructor(address: string, protocols?: string | string[]) {
            super(address, protocols, o?.origin ? { headers: { origin: o.origin } } : {})
          }
        },
        connectionParams: token ? { authorization: `Bearer ${token}` } : {},
        retryAttempts: 0,
      })
      clients.push(client)
      return client
    },
    async stop() {
      await Promise.all(clients.map((c) => c.dispose()))
      await app.stop(2000)
      rmSync(dataDir, { recursive: true, force: true })
      if (!own) return
      // Whatever the file did to its runs, the hot queue still agrees with them.
      const mismatches = await queueMismatches(database.db)
      await database.drop()
      if (mismatches.length > 0)
        throw new Error(`run_queue disagrees with runs: ${JSON.stringify(mismatches)}`)
    },
  }
}

/** Collects the first `n` results of a subscription (or fails after timeoutMs). */
export function collect<T>(
  client: Client,
  query: string,
  variables: Record<string, unknown>,
  until: (items: T[]) => boolean,
  timeoutMs = 20_000,
): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const items: T[] = []
    const timer = setTimeout(() => {
      dispose()
      reject(
        new Error(
          `subscription timed out after ${timeoutMs} ms with ${items.length} items: ${JSON.stringify(items).slice(0, 2000)}`,
        ),
      )
    }, timeoutMs)
    const dispose = client.subscribe<T>(
      { query, variables },
      {
        next: (r) => {
          if (r.errors) {
            clearTimeout(timer)
            dispose()
            reject(new Error(JSON.stringify(r.errors)))
            return
          }
          items.push(r.data as T)
          if (until(items)) {
            clearTimeout(timer)
            dispose()
            resolve(items)
          }
        },
        error: (e) => {
          clearTimeout(timer)
          if (e instanceof Error) return reject(e)
          // A close event: keep its code and reason for the test to check.
          const close = e as { code?: number; reason?: string }
          reject(
            Object.assign(new Error(`socket closed ${close.code}: ${close.reason}`), {
              code: close.code,
              reason: close.reason,
            }),
          )
        },
        complete: () => {},
      },
    )
  })
}
