import { z } from 'zod'
import { runCheck } from '../data/checks/run'
import { CheckSpec } from '../data/checks/spec'
import { type NewCheckResult, recordChecks } from '../data/checks/store'
import { dataContext } from '../data/kind-context'
import { StatementTimeout } from '../data/load/spec'
import { ValidationError } from '../errors'
import { RunFailure, defineKind } from './kind'

/**
 * Evaluates checks and keeps their results. The run fails when a blocking
 * check ends in ERROR (or in WARNING with failOn WARNING), so a chain stops
 * before bad data travels further; the results are recorded either way.
 */
export const runChecks = defineKind({
  kind: 'RUN_CHECKS',
  description: 'Evaluates checks on metrics or custom SQL; fails on a blocking ERROR (or WARNING).',
  configSchema: z.object({
    checks: z.array(CheckSpec).min(1, 'give at least one check').max(100),
    failOn: z.enum(['ERROR', 'WARNING']).default('ERROR'),
    timeoutMs: StatementTimeout,
  }),
  async execute(ctx) {
    const { config, log, run } = ctx
    const d = await dataContext(ctx, config.timeoutMs)
    const results: NewCheckResult[] = []
    for (const c of config.checks) {
      // A check whose query fails is an ERROR of that check, not the end of the others.
      const r = await runCheck(d, c).catch((err: Error) => ({
        name: c.name,
        outcome: 'ERROR' as const,
        value: null,
        message: err.message,
        blocking: c.blocking,
      }))
      results.push(r)
      log(
        r.outcome === 'OK' ? 'INFO' : r.outcome === 'WARNING' ? 'WARN' : 'ERROR',
        `${r.name}: ${r.outcome} — ${r.message}`,
      )
    }
    await recordChecks(
      d.data.db,
      { orgId: run.orgId, automationId: run.automationId, runId: run.id },
      results,
    )
    const summary = { OK: 0, WARNING: 0, ERROR: 0 }
    for (const r of results) summary[r.outcome]++
    const outputs = { summary, checks: results }
    const failing = results.filter(
      (r) =>
        r.blocking && (r.outcome === 'ERROR' || (config.failOn === 'WARNING' && r.outcome === 'WARNING')),
    )
    if (failing.length > 0) {
      throw new RunFailure(
        `${failing.length} blocking check(s) failed: ${failing.map((r) => `${r.name} ${r.outcome} (${r.message})`).join('; ')}`,
        outputs,
      )
    }
    return { outputs }
  },
  async checkSave(config) {
    const names = config.checks.map((c) => c.name)
    const twice = names.find((n, i) => names.indexOf(n) !== i)
    if (twice) {
      throw new ValidationError(`invalid config: checks: two checks are named ${twice}`, [
        { path: 'config.checks', message: `${twice} appears twice` },
      ])
    }
  },
})
