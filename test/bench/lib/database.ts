import { randomBytes } from 'node:crypto'
import postgres from 'postgres'

export interface FreshDatabase {
  readonly name: string
  readonly url: string
  /** Drops the database, closing whatever is still connected to it. */
  drop(): Promise<void>
}

/** The DATABASE_URL the benchmarks run against; they refuse to run without one. */
export function baseUrl(): string {
  const url = process.env.DATABASE_URL
  if (!url || !/^postgres(ql)?:\/\//.test(url)) {
    throw new Error(
      'DATABASE_URL must name a PostgreSQL server the benchmarks may create databases on, e.g. postgres://postgres@127.0.0.1:5432/postgres',
    )
  }
  return url
}

/** Creates an empty database on the server of DATABASE_URL; `label` shows in its name. */
export async function freshDatabase(label: string): Promise<FreshDatabase> {
  const base = baseUrl()
  const name = `sy_bench_${label.toLowerCase().replace(/[^a-z0-9]/g, '')}_${randomBytes(3).toString('hex')}`
  const admin = postgres(base, { max: 1, onnotice: () => {} })
  try {
    await admin.unsafe(`create database ${name}`)
  } finally {
    await admin.end()
  }
  const u = new URL(base)
  u.pathname = `/${name}`
  return {
    name,
    url: u.toString(),
    async drop() {
      const a = postgres(base, { max: 1, onnotice: () => {} })
      try {
        // Whatever is still connected should be closing; give it a moment before forcing it out.
        for (let i = 0; i < 20; i++) {
          const [r] = await a<{ n: number; who: string }[]>`select count(*)::int as n,
            string_agg(application_name || ' ' || state || ' ' || left(query, 60), ' | ') as who
            from pg_stat_activity where datname = ${name}`
          if (Number(r!.n) === 0) break
          if (i === 19) console.error(`\nbench: ${r!.n} connections left on ${name}: ${r!.who}`)
          await new Promise((res) => setTimeout(res, 100))
        }
        await a.unsafe(`drop database if exists ${name} with (force)`)
      } finally {
        await a.end()
      }
    },
  }
}

/** Runs fn with a fresh database and drops it afterwards, whatever happens. */
export async function withDatabase<T>(label: string, fn: (db: FreshDatabase) => Promise<T>): Promise<T> {
  const db = await freshDatabase(label)
  try {
    return await fn(db)
  } finally {
    await db.drop()
  }
}

/** The server's version string, for the "measured against" lines. */
export async function serverVersion(): Promise<string> {
  const sql = postgres(baseUrl(), { max: 1, onnotice: () => {} })
  try {
    const [row] = await sql<{ v: string; sc: string }[]>`select current_setting('server_version') as v,
      current_setting('synchronous_commit') as sc`
    return `PostgreSQL ${row!.v} (synchronous_commit=${row!.sc})`
  } finally {
    await sql.end()
  }
}
