// Starts an embedded warehouse worker. The server runs TypeScript through tsx;
// a worker inherits its loader when started with `node --import tsx`, and
// registers it here otherwise (test runners, which transform on their own).
import { workerData } from 'node:worker_threads'

try {
  await import(workerData.entry)
} catch (err) {
  if (err?.code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw err
  const { register } = await import('tsx/esm/api')
  register()
  // A failed import stays cached under its URL: load it under another one.
  await import(`${workerData.entry}?tsx`)
}
