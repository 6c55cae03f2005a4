// Creates a new PGlite data directory (initdb) in a process of its own: `node pglite-initdb.mjs
// <dataDir>`. initdb leaves several hundred MB behind (WebAssembly memory, its module, and
// what the allocator keeps of them: in a worker thread, glibc's arena of the thread stays
// with the server); a process gives all of it back when it exits, so the server then opens
// the finished directory with only what a running PGlite needs.
import { PGlite } from '@electric-sql/pglite'

const dataDir = process.argv[2]
if (!dataDir) {
  console.error('usage: node pglite-initdb.mjs <dataDir>')
  process.exit(2)
}
const pg = await PGlite.create(dataDir)
await pg.close()
