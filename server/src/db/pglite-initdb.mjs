// Creates a new PGlite data directory (initdb) in a worker thread that then exits. initdb
// leaves several hundred MB of WebAssembly memory and modules behind that closing the
// instance does not give back; a thread's memory goes with the thread, so the server then
// opens the finished directory with only what a running PGlite needs.
import { workerData } from 'node:worker_threads'
import { PGlite } from '@electric-sql/pglite'

const pg = await PGlite.create(workerData.dataDir)
await pg.close()
