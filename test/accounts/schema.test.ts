import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const serverDir = fileURLToPath(new URL('../../server', import.meta.url))

// Printed in a child process: graphql must be one module instance, which vitest's
// transform of server code cannot promise inside the test process.
const printed = execFileSync(
  process.execPath,
  ['--import', 'tsx', 'src/graphql/print-schema.ts', '--stdout'],
  {
    cwd: serverDir,
    encoding: 'utf8',
  },
)

describe('server/schema.graphql', () => {
  it('matches the schema the code builds (regenerate: pnpm --filter @switchyard/server print-schema)', () => {
    expect(readFileSync(`${serverDir}/schema.graphql`, 'utf8')).toBe(printed)
  })

  it('keeps the operation names of the API contract', () => {
    for (const op of [
      'login(',
      'logout',
      'me:',
      'createApiToken(',
      'createAutomation(',
      'updateAutomation(',
      'deleteAutomation(',
      'automation(',
      'automations(',
      'runAutomation(',
      'cancelRun(',
      'retryRun(',
      'run(',
      'runs(',
      'mutexes:',
      'runUpdated(',
      'runLog(',
      'createEmbedToken(',
    ]) {
      expect(printed).toContain(op)
    }
  })
})
