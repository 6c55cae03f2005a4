import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { withDatabase } from '../lib/database'
import type { Figure, WorkloadResult } from '../lib/report'
import { SERVER_NODE_FLAGS } from '../../../server/bin/node-flags.mjs'
import { type Prepared, SERVER_DIR, prepare, rssOf, spawnNode } from '../lib/switchyard'

const ROOT = fileURLToPath(new URL('../../..', import.meta.url))
const IDLE_MS = 5000

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`

const gz = (file: string): number => gzipSync(readFileSync(file), { level: 9 }).length

/** Child processes of pid, from /proc. */
function childrenOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((t) =>
      readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
    )
  } catch {
    return []
  }
}

/** Every process below pid (the sandbox launcher, its sandboxes and zygotes), from /proc. */
function descendantsOf(pid: number): number[] {
  const kids = childrenOf(pid)
  return [...kids, ...kids.flatMap(descendantsOf)]
}

/**
 * The JS the browser loads for /runs: the client entry's imports, the root
 * layout's and the runs page's (from the server manifest adapter-node writes).
 */
function runsPageJs(): { files: string[]; bytes: number } | undefined {
  const chunks = join(ROOT, 'web/build/server/chunks')
  if (!existsSync(chunks)) return undefined
  const manifestFile = readdirSync(chunks).find((f) => f.startsWith('manifest') && f.endsWith('.js'))
  if (!manifestFile) return undefined
  const manifest = readFileSync(join(chunks, manifestFile), 'utf8')
  const entry = /client:\s*\{[^}]*imports:\[([^\]]*)\]/.exec(manifest)?.[1] ?? ''
  const route = /id: "\/runs",[\s\S]*?page: \{ layouts: \[([\d,]*)\][^}]*leaf: (\d+) \}/.exec(manifest)
  if (!route) return undefined
  const nodeIds = [...route[1]!.split(',').filter(Boolean), route[2]!]
  const imports = new Set<string>(
    entry
      .split(',')
      .map((s) => s.replace(/"/g, '').trim())
      .filter(Boolean),
  )
  const nodesDir = join(chunks, 'nodes')
  for (const id of nodeIds) {
    const file = readdirSync(nodesDir).find((f) => f.startsWith(`${id}.js-`) && f.endsWith('.js'))
    if (!file) continue
    const list = /const imports = \[([^\]]*)\]/.exec(readFileSync(join(nodesDir, file), 'utf8'))?.[1] ?? ''
    for (const s of list.split(',')) if (s.trim()) imports.add(s.replace(/"/g, '').trim())
  }
  const files = [...imports].filter((f) => f.endsWith('.js'))
  let bytes = 0
  for (const f of files) bytes += gz(join(ROOT, 'web/build/client', f))
  return { files, bytes }
}

/**
 * RSS of one idle node with every role, IDLE_MS after it is ready: its own, and that of every
 * process below it (the figure is the sum: what the server holds at idle, all told).
 */
async function idle(p: Prepared, opts: { built: boolean; embedded?: boolean }) {
  const node = await spawnNode(p, { roles: 'api,worker,scheduler', ...opts })
  try {
    await new Promise((r) => setTimeout(r, IDLE_MS))
    const below = descendantsOf(node.pid)
    const own = node.rss()
    const sandboxes = below.reduce((s, k) => s + (rssOf(k) || 0), 0)
    return { rss: own + sandboxes, own, sandboxes, children: below.length }
  } finally {
    await node.stop()
  }
}

export async function w8(): Promise<WorkloadResult> {
  // What `npm start` runs: the server built into server/dist.
  execFileSync(process.execPath, [join(SERVER_DIR, 'bin/build-server.mjs')], { stdio: 'ignore' })
  const { pg, tsx, first, again } = await withDatabase('w8_sy', async ({ url }) => {
    const p = await prepare(url)
    try {
      const pg = await idle(p, { built: true })
      const tsx = await idle(p, { built: false })
      // Embedded: the first start creates the database under the data directory; the next opens it.
      const first = await idle(p, { built: true, embedded: true })
      const again = await idle(p, { built: true, embedded: true })
      return { pg, tsx, first, again }
    } finally {
      await p.close()
    }
  })
  const page = runsPageJs()
  const button = join(ROOT, 'embed/dist/run-button.js')
  const buttonBytes = existsSync(button) ? gz(button) : Number.NaN
  const fig = (name: string, value: number, limit: number, text: string): Figure => ({
    workload: 'W8',
    name,
    value,
    unit: 'bytes',
    better: 'lower',
    target: { text, limit },
  })
  return {
    id: 'W8',
    title: 'footprint',
    figures: [
      fig('idle server RSS (all roles), PostgreSQL', pg.rss, 150 * 2 ** 20, '≤ 150 MB'),
      fig('idle server RSS (all roles), embedded', again.rss, 300 * 2 ** 20, '≤ 300 MB'),
      fig('runs page JS (gzip)', page?.bytes ?? Number.NaN, 150 * 1024, '≤ 150 KB'),
      fig('run-button file (gzip)', buttonBytes, 8 * 1024, '≤ 8 KB'),
    ],
    against: [
      `RSS of \`dist/main.js\` (the build npm start runs, with its node flags ${SERVER_NODE_FLAGS.join(' ')}; roles api,worker,scheduler) ${IDLE_MS / 1000} s after SWITCHYARD_READY, from /proc, with every process below it: on PostgreSQL ${mib(pg.rss)} (the server ${mib(pg.own)}, ${pg.children} processes below it ${mib(pg.sandboxes)}), the same from src/ through tsx ${mib(tsx.rss)}. Sandboxes and their launcher start with a worker's first script run, not before.`,
      `Embedded (no DATABASE_URL, PGlite under the data directory), likewise: ${mib(again.rss)} when it opens an existing database (the figure), ${mib(first.rss)} on the first start (initdb in a process that ends, migrations, seed); load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}.`,
      page
        ? `runs page: ${page.files.length} JS files (client entry + root layout + /runs page imports from web/build's server manifest), gzip -9 each, summed.`
        : 'runs page: web/build is missing (npm run build), not measured.',
      `run button: embed/dist/run-button.js gzip -9${existsSync(button) ? '' : ' (missing: npm run build)'}.`,
    ],
  }
}
