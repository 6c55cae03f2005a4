import { z } from 'zod'
import { defineKind } from './kind'

/**
 * Runs one SQL statement on the organization's own warehouse database.
 * `${name}` becomes a bound parameter, never text. The result is read through
 * a cursor under the result caps (SWITCHYARD_MAX_RESULT_ROWS / _BYTES): only
 * `maxRows` rows are kept, the rest are counted.
 */
export const sqlKind = defineKind({
  kind: 'SQL',
  description: 'Runs one SQL statement on the internal warehouse.',
  configSchema: z.object({
    statement: z.string().trim().min(1, 'the statement is empty').max(100_000),
    /** Rows kept in the run's outputs. */
    maxRows: z.number().int().min(0).max(1000).default(100),
    timeoutMs: z.number().int().min(100).max(3_600_000).default(300_000),
  }),
  async execute({ config, parameters, run, log, services, signal }) {
    const result = await services.warehouse.execute({
      orgId: run.orgId,
      statement: config.statement,
      parameters,
      timeoutMs: config.timeoutMs,
      keepRows: config.maxRows,
      signal,
    })
    log('INFO', `${result.command ?? 'statement'}: ${result.rowCount} row(s)`)
    return { outputs: { rowCount: result.rowCount, rows: result.rows } }
  },
})
