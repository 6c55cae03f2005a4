import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { withDatabase } from '../lib/database'
import type { Figure, WorkloadResult } from '../lib/report'
import { prepare, rssOf, spawnNode } from '../lib/switchyard'

const ROOT = fileURLToPath(new URL('../../..', import.meta.url))
const IDLE_MS = 5000

const gz = (file: string): number => gzipSync(readFileSync(file), { level: 9 }).length

/** Child processes of pid (the sandbox pool), from /proc. */
function childrenOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((t) =>
      readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
    )
  } catch {
    return []
  }
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

export async function w8(): Promise<WorkloadResult> {
  const { rss, sandboxes, children } = await withDatabase('w8_sy', async ({ url }) => {
    const p = await prepare(url)
    const node = await spawnNode(p, { roles: 'api,worker,scheduler' })
    try {
      await new Promise((r) => setTimeout(r, IDLE_MS))
      const kids = childrenOf(node.pid)
      return {
        rss: node.rss(),
        sandboxes: kids.reduce((s, k) => s + (rssOf(k) || 0), 0),
        children: kids.length,
      }
    } finally {
      await node.stop()
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
      fig('idle server RSS (all roles)', rss, 150 * 2 ** 20, '≤ 150 MB'),
      fig('runs page JS (gzip)', page?.bytes ?? Number.NaN, 150 * 1024, '≤ 150 KB'),
      fig('run-button file (gzip)', buttonBytes, 8 * 1024, '≤ 8 KB'),
    ],
    against: [
      `RSS of \`main.ts\` (roles api,worker,scheduler, run through tsx as npm start does) ${IDLE_MS / 1000} s after SWITCHYARD_READY, from /proc; its ${children} child processes (warm sandboxes) hold ${(sandboxes / 2 ** 20).toFixed(0)} MB more.`,
      page
        ? `runs page: ${page.files.length} JS files (client entry + root layout + /runs page imports from web/build's server manifest), gzip -9 each, summed.`
        : 'runs page: web/build is missing (npm run build), not measured.',
      `run button: embed/dist/run-button.js gzip -9${existsSync(button) ? '' : ' (missing: npm run build)'}.`,
    ],
  }
}
