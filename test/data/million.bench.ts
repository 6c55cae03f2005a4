/**
 * `cd test && DATABASE_URL=postgres://… node --expose-gc --max-old-space-size=96 --import tsx data/million.bench.ts [rows]`
 *
 * Measures what issue 5 asks for: a 1,000,000-row SYNC_SOURCE (PostgreSQL
 * table → storage) and a 1,000,000-row FILE_IMPORT (CSV upload → storage, and
 * CSV from a URL), each with its wall time and the server process's peak RSS
 * while it ran. The server runs in this process, so RSS is the server's. It
 * reports; it never asserts. Without DATABASE_URL the platform and warehouse
 * run on PGlite (in this process too) and the source table on the local server.
 */
import { randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { once } from 'node:events'
import postgres from 'postgres'
import { hashPassword } from '../../server/src/auth/password'
import { type App, startApp } from '../../server/src/app'
import { loadConfig } from '../../server/src/config'
import { createLogger } from '../../server/src/log'

const run = promisify(execFile)
const ROWS = Number(process.argv[2] ?? 1_000_000)
const SERVER = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const EMBEDDED = !process.env.DATABASE_URL
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`

function dbUrl(name: string): string {
  const u = new URL(SERVER)
  u.pathname = `/${name}`
  return u.toString()
}

/** Samples RSS every 20 ms while fn runs. */
async function measure<T>(label: string, fn: () => Promise<T>): Promise<T> {
  global.gc?.()
  const base = process.memoryUsage().rss
  let peak = base
  let heap = 0
  const timer = setInterval(() => {
    const m = process.memoryUsage()
    peak = Math.max(peak, m.rss)
    heap = Math.max(heap, m.heapUsed + m.external)
  }, 20)
  const t0 = performance.now()
  try {
    return await fn()
  } finally {
    clearInterval(timer)
    const s = (performance.now() - t0) / 1000
    console.log(
      `${label.padEnd(34)} ${s.toFixed(1).padStart(6)} s  ${Math.round(ROWS / s)
        .toLocaleString('en')
        .padStart(
          9,
        )} rows/s  RSS before ${mb(base)}, peak ${mb(peak)} (+${mb(peak - base)}), JS heap+buffers peak ${mb(heap)}`,
    )
  }
}

async function main() {
  const admin = postgres(SERVER, { max: 1, onnotice: () => {} })
  const tag = randomBytes(4).toString('hex')
  const platformDb = `sy_bench_${tag}`
  const sourceDb = `sy_bsrc_${tag}`
  const dir = mkdtempSync(join(tmpdir(), 'sy-million-'))
  if (!EMBEDDED) await admin.unsafe(`create database ${platformDb}`)
  await admin.unsafe(`create database ${sourceDb}`)
  const src = postgres(dbUrl(sourceDb), { max: 1, onnotice: () => {} })
  let app: App | undefined
  try {
    console.log(
      `${ROWS.toLocaleString('en')} rows; platform + warehouse on ${EMBEDDED ? 'PGlite (in process)' : 'PostgreSQL'}; Node ${process.version}`,
    )
    await src.unsafe(
      `create table big (id bigint primary key, name text, amount numeric(12,2), at timestamptz, flag boolean)`,
    )
    await src.unsafe(
      `insert into big select g, 'customer ' || g, (g % 10000) / 100.0, timestamptz '2024-01-01' + g * interval '1 second', g % 2 = 0 from generate_series(1, ${ROWS}) g`,
    )
    const csv = join(dir, 'big.csv')
    const out = createWriteStream(csv)
    out.write('id,name,amount,at,flag\n')
    for (let g = 1; g <= ROWS; g++) {
      const at = new Date(Date.UTC(2024, 0, 1) + g * 1000).toISOString()
      if (!out.write(`${g},customer ${g},${(g % 10000) / 100},${at},${g % 2 === 0}\n`))
        await once(out, 'drain')
    }
    out.end()
    await once(out, 'finish')
    console.log(`CSV file: ${mb(statSync(csv).size)}`)

    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      SWITCHYARD_DATA_DIR: dir,
      SWITCHYARD_SECRET_KEY: 'bench-secret-key-bench-secret-key-0123456789',
      SWITCHYARD_SEED_DEMO: 'false',
      LOG_LEVEL: 'warn',
      ...(EMBEDDED ? {} : { DATABASE_URL: dbUrl(platformDb) }),
    })
    app = await startApp(config, createLogger('warn'))
    const db = app.services.db
    const [org] = await db.query<{ id: string }>(
      `insert into organizations (name) values ('bench') returning id`,
    )
    await db.query(
      `insert into users (org_id, email, name, role, password_hash) values ($1, 'b@bench.test', 'b', 'ADMIN', $2)`,
      [org!.id, await hashPassword('bench-password')],
    )
    const gql = async <T>(
      query: string,
      variables: Record<string, unknown> = {},
      token?: string,
    ): Promise<T> => {
      const res = await fetch(`${app!.url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ query, variables }),
      })
      const body = (await res.json()) as { data: T; errors?: unknown }
      if (body.errors) throw new Error(JSON.stringify(body.errors))
      return body.data
    }
    const { login } = await gql<{ login: { token: string } }>(
      `mutation { login(email: "b@bench.test", password: "bench-password") { ... on LoginPayload { token } } }`,
    )
    const token = login.token
    const runKind = async (name: string, kind: string, config: Record<string, unknown>) => {
      const c = await gql<{ createAutomation: { automation: { id: string } } }>(
        `mutation($i: AutomationInput!) { createAutomation(input: $i) { ... on CreateAutomationSuccess { automation { id } } ... on Error { message } } }`,
        { i: { name, kind, config } },
        token,
      )
      const r = await gql<{ runAutomation: { run: { id: string } } }>(
        `mutation($id: ID!) { runAutomation(id: $id) { ... on RunAutomationSuccess { run { id } } } }`,
        { id: c.createAutomation.automation.id },
        token,
      )
      for (;;) {
        const { run } = await gql<{
          run: { state: string; error: string | null; outputs: { rowCount?: number } }
        }>(`query($id: ID!) { run(id: $id) { state error outputs } }`, { id: r.runAutomation.run.id }, token)
        if (['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'].includes(run.state)) {
          if (run.state !== 'SUCCEEDED') throw new Error(`${name}: ${run.state} ${run.error}`)
          if (run.outputs.rowCount !== ROWS) throw new Error(`${name}: ${run.outputs.rowCount} rows`)
          return
        }
        await new Promise((res) => setTimeout(res, 100))
      }
    }

    const ds = await gql<{ createPostgresDatasource: { datasource: { id: string } } }>(
      `mutation($i: CreatePostgresDatasourceInput!) { createPostgresDatasource(input: $i) { ... on CreatePostgresDatasourceSuccess { datasource { id } } } }`,
      { i: { name: 'source', connectionString: dbUrl(sourceDb) } },
      token,
    )
    const dsId = ds.createPostgresDatasource.datasource.id
    await measure('SYNC_SOURCE (PostgreSQL → storage)', () =>
      runKind('sync', 'SYNC_SOURCE', {
        source: { datasource: dsId, table: 'big' },
        target: { storage: 'big_sync' },
      }),
    )

    // curl sends the file from its own process, so the RSS measured is the server's alone.
    const uploaded = await measure('upload the CSV (POST /uploads)', async () => {
      const { stdout } = await run(
        'curl',
        [
          '-sS',
          '-X',
          'POST',
          '--data-binary',
          `@${csv}`,
          '-H',
          `authorization: Bearer ${token}`,
          '-H',
          'content-type: text/csv',
          `${app!.url}/uploads?name=big.csv`,
        ],
        { maxBuffer: 1 << 20 },
      )
      return JSON.parse(stdout) as { datasource: { id: string } }
    })
    await measure('FILE_IMPORT (uploaded CSV)', () =>
      runKind('import', 'FILE_IMPORT', {
        source: { type: 'UPLOAD', datasource: uploaded.datasource.id },
        target: { storage: 'big_csv' },
      }),
    )
    const web = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/csv' })
      createReadStream(csv).pipe(res)
    })
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', r))
    const url = `http://127.0.0.1:${(web.address() as AddressInfo).port}/big.csv`
    await measure('FILE_IMPORT (CSV from a URL)', () =>
      runKind('import-url', 'FILE_IMPORT', { source: { type: 'URL', url }, target: { storage: 'big_url' } }),
    )
    web.close()
    console.log(`process peak RSS over the whole bench: ${mb(process.resourceUsage().maxRSS * 1024)}`)
  } finally {
    await app?.stop(5000)
    await src.end()
    if (!EMBEDDED) await admin.unsafe(`drop database if exists ${platformDb} with (force)`)
    await admin.unsafe(`drop database if exists ${sourceDb} with (force)`)
    await admin.end()
    rmSync(dir, { recursive: true, force: true })
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err)
    process.exit(1)
  },
)
