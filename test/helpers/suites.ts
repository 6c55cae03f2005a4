import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Reporter } from 'vitest/node'

/** A group of suites that runs only where its requirement is met, and why. */
export interface ConditionalSuites {
  /** Directory under test/. */
  dir: string
  /** What it needs, in the words of the summary line. */
  needs: string
  /** Whether this environment has it. */
  available(env: NodeJS.ProcessEnv): boolean
}

export const CONDITIONAL: readonly ConditionalSuites[] = [
  {
    dir: 'faults',
    needs:
      'they start several server processes against one database, which needs a real PostgreSQL server: set DATABASE_URL',
    available: (env) => Boolean(env.DATABASE_URL),
  },
  {
    dir: 'scale-out',
    needs:
      'two nodes on one database (one role beside another, or one seeing what the other changed), or two sessions, one waiting for the other, need a real PostgreSQL server: set DATABASE_URL',
    available: (env) => Boolean(env.DATABASE_URL),
  },
]

/** The suites this environment leaves out, with their test-file count. */
export function notRunHere(testDir: string, env: NodeJS.ProcessEnv) {
  return CONDITIONAL.filter((s) => !s.available(env)).map((s) => ({
    ...s,
    files: readdirSync(join(testDir, s.dir)).filter((f) => f.endsWith('.test.ts')).length,
  }))
}

/**
 * Says, after the summary, which suites did not run and why: a green run on PGlite
 * must not read as if the multi-process suites had passed.
 */
export function notRunReporter(testDir: string, env: NodeJS.ProcessEnv): Reporter {
  return {
    onTestRunEnd() {
      for (const s of notRunHere(testDir, env)) {
        console.log(` Not run  test/${s.dir}/ (${s.files} files): ${s.needs}`)
      }
    },
  }
}
