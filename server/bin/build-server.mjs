#!/usr/bin/env node
// Builds the server into server/dist so `npm start` runs plain JavaScript: no tsx loader
// thread and no TypeScript transform at start (W8: tens of MB of idle RSS).
//
// Layout: dist/ mirrors src/ (dist/main.js, dist/warehouse/embedded/worker.js, assets beside
// the modules that load them), so every path a module computes from its own location
// (`new URL('../../../drizzle', import.meta.url)`, the sandbox runner, the web build, the run
// button) means the same thing from dist/ as from src/. The bundle holds our code only;
// packages stay in node_modules (PGlite finds its wasm files from its own import.meta.url).
import { cpSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const server = join(dirname(fileURLToPath(import.meta.url)), '..')
const src = join(server, 'src')
const dist = join(server, 'dist')

/** Files loaded at run time by path, not imported: copied beside their module. */
const ASSETS = [
  'sandbox/launcher.mjs',
  'sandbox/runner.mjs',
  'sandbox/runner.py',
  'sandbox/landlock.py',
  'sandbox/libc.py',
  'sandbox/wire.py',
  'sandbox/zygote.py',
  'sandbox/namespaces.py',
  'warehouse/embedded/boot.mjs',
  'db/pglite-initdb.mjs',
]

/**
 * Bundling puts many modules in one file, and each would see the bundle's import.meta.url.
 * Each module of src/ gets instead the URL its mirror in dist/ would have (relative to the
 * bundle it lands in), so its relative paths resolve as they do in src/.
 */
const ownLocation = (outfile) => ({
  name: 'own-location',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      if (!args.path.startsWith(src)) return undefined
      const text = readFileSync(args.path, 'utf8')
      if (!text.includes('import.meta.url')) return { contents: text, loader: 'ts' }
      const mirror = join(dist, relative(src, args.path)).replace(/\.ts$/, '.js')
      const rel = relative(dirname(outfile), mirror).split('\\').join('/')
      const url = `new URL(${JSON.stringify(rel.startsWith('.') ? rel : `./${rel}`)}, import.meta.url).href`
      return { contents: text.replaceAll('import.meta.url', url), loader: 'ts' }
    })
  },
})

/** The server and the embedded warehouse's worker thread: two bundles of our code. */
const ENTRIES = ['main.ts', 'warehouse/embedded/worker.ts']

rmSync(dist, { recursive: true, force: true })
mkdirSync(dist, { recursive: true })
for (const entry of ENTRIES) {
  const outfile = join(dist, entry.replace(/\.ts$/, '.js'))
  await build({
    entryPoints: [join(src, entry)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: true,
    plugins: [ownLocation(outfile)],
    logLevel: 'warning',
  })
}
for (const a of ASSETS) cpSync(join(src, a), join(dist, a))
console.log(`switchyard: server built into ${relative(process.cwd(), dist) || '.'}`)
