// Bundles <run-button> into one ES module, embed/dist/run-button.js, and fails
// when it outgrows its budget: it is included by other people's pages.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'

const BUDGET_GZIP_BYTES = 8 * 1024
const here = dirname(fileURLToPath(import.meta.url))
const outfile = join(here, 'dist', 'run-button.js')

const result = await build({
  entryPoints: [join(here, 'src', 'run-button.ts')],
  bundle: true,
  minify: true,
  format: 'esm',
  // Private class fields and the rest stay native: custom elements need a modern browser anyway.
  target: 'es2022',
  legalComments: 'none',
  write: false,
  outfile,
})
const code = result.outputFiles[0].contents
const gzip = gzipSync(code, { level: 9 }).length
const kb = (n) => `${(n / 1024).toFixed(2)} KB`
console.log(
  `embed: run-button.js ${kb(code.length)} minified, ${kb(gzip)} gzip (${gzip} bytes; budget ${kb(BUDGET_GZIP_BYTES)})`,
)
if (gzip > BUDGET_GZIP_BYTES) {
  console.error(`embed: run-button.js is ${gzip - BUDGET_GZIP_BYTES} bytes over its gzip budget; not written`)
  process.exit(1)
}
mkdirSync(dirname(outfile), { recursive: true })
// Written aside then renamed, so a server or test reading it never sees half a file.
writeFileSync(`${outfile}.tmp`, code)
renameSync(`${outfile}.tmp`, outfile)
