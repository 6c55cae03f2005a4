import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'
import { CONDITIONAL, notRunReporter } from './helpers/suites'

const here = dirname(fileURLToPath(import.meta.url))

// Suites run against real PostgreSQL when DATABASE_URL is set (CI), each file in
// a fresh database cloned from a migrated template; otherwise on in-memory PGlite.
export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    // Suites whose requirement this machine lacks (helpers/suites.ts: the multi-process
    // suites need a real PostgreSQL server) are left out, and the summary says so.
    exclude: [
      '**/node_modules/**',
      'bench/**',
      ...CONDITIONAL.filter((s) => !s.available(process.env)).map((s) => `${s.dir}/**`),
    ],
    globalSetup: ['./helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: files run two at a time; each has its own database.
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default', notRunReporter(here, process.env)],
    // Nothing may be skipped or focused in CI.
    allowOnly: false,
  },
})
