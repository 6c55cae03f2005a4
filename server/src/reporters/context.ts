import type { Queryable } from '../db/database'
import { coerceError } from '../errors'
import { resolveVariables } from '../data/variables/resolve'
import { ExpressionError, type Value } from '../data/variables/functions'
import type { ReporterEvent, RunSnapshot } from './domain'

/** "1 h 2 min", "3.4 s": how long a run took, for people. */
export function humanDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return ''
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  const min = Math.floor(ms / 60_000)
  const s = Math.round((ms % 60_000) / 1000)
  if (min < 60) return `${min} min${s ? ` ${s} s` : ''}`
  return `${Math.floor(min / 60)} h ${min % 60} min`
}

/** Names in expressions are identifiers: `check amounts` is `checkOutcome_check_amounts`. */
export const identifierOf = (name: string) => name.replace(/[^A-Za-z0-9_]/g, '_')

interface StepRow {
  step: number | null
  state: string
  error: string | null
  automation: string | null
  started_at: Date | null
  finished_at: Date | null
}

export interface ReportContext {
  /** What templates see. */
  values: Record<string, unknown>
  /** What a condition expression sees: run facts, output_x, checkOutcome_x, stepOutcome_x, previousOutput_x, variables. */
  lookup(name: string): Value
}

const toValue = (v: unknown): Value =>
  v === null || v === undefined
    ? null
    : ['string', 'number', 'boolean'].includes(typeof v)
      ? (v as Value)
      : JSON.stringify(v)

const ms = (a: string | Date | null, b: string | Date | null) =>
  a && b ? new Date(b).getTime() - new Date(a).getTime() : null

/**
 * The context of a message about one run: the run (as queued), its automation, outputs,
 * check results, workflow or chain steps, variables and who triggered it, with links.
 */
export async function reportContext(
  db: Queryable,
  opts: {
    snapshot: RunSnapshot
    event: ReporterEvent
    publicUrl: string
    /**
     * Steps as of this moment (the message's queueing): a message sent later, by another
     * node, still describes the run as it was, not with the steps started since.
     */
    asOf?: Date | string | undefined
  },
): Promise<ReportContext> {
  const r = opts.snapshot
  const [a] = await db.query<{ name: string; kind: string }>(
    'select name, kind from automations where id = $1 and org_id = $2',
    [r.automation_id, r.org_id],
  )
  const [user] = r.triggered_by
    ? await db.query<{ id: string; name: string; email: string }>(
        'select id, name, email from users where id = $1 and org_id = $2',
        [r.triggered_by, r.org_id],
      )
    : []
  const stepRows = await db.query<StepRow>(
    `select c.step, c.state, c.error, a.name as automation, c.started_at, c.finished_at
       from runs c left join automations a on a.id = c.automation_id
      where c.parent_run_id = $1 and ($2::timestamptz is null or c.created_at <= $2::timestamptz)
      order by c.step, c.id limit 500`,
    [r.id, opts.asOf ? new Date(opts.asOf).toISOString() : null],
  )
  const variables: Record<string, unknown> = {}
  try {
    const scope = await resolveVariables(db, r.org_id, r.automation_id, r.parameters ?? {})
    for (const name of Object.keys(scope)) {
      try {
        variables[name] = scope[name]
      } catch {
        // A broken variable shows as nothing; it must not stop the message.
        variables[name] = null
      }
    }
  } catch (err) {
    variables._error = coerceError(err).message
  }
  const outputs = r.outputs ?? {}
  const checks = Array.isArray(outputs.checks)
    ? (outputs.checks as Record<string, unknown>[]).map((c) => ({
        name: String(c.name ?? ''),
        outcome: String(c.outcome ?? ''),
        value: c.value ?? null,
        message: String(c.message ?? ''),
      }))
    : []
  const steps = stepRows.map((s) => ({
    step: s.step,
    automation: s.automation ?? '',
    state: s.state,
    error: s.error,
    durationMs: ms(s.started_at, s.finished_at),
  }))
  const durationMs = ms(r.started_at, r.finished_at)
  const base = opts.publicUrl.replace(/\/$/, '')
  const values: Record<string, unknown> = {
    event: opts.event,
    run: {
      id: r.id,
      state: r.state,
      attempt: r.attempt,
      maxAttempts: r.max_attempts,
      error: r.error,
      triggerSource: r.trigger_source,
      parameters: r.parameters,
      outputs,
      version: r.version,
      parentRunId: r.parent_run_id,
      createdAt: r.created_at,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
      durationMs,
      duration: humanDuration(durationMs),
      url: `${base}/runs/${r.id}`,
    },
    automation: {
      id: r.automation_id,
      name: a?.name ?? '',
      kind: a?.kind ?? '',
      url: `${base}/automations/${r.automation_id}`,
    },
    outputs,
    checks,
    steps,
    variables,
    triggeredBy: user ? { id: user.id, name: user.name, email: user.email } : null,
  }
  // The previous ended run of the same automation (and level), for "changed by more than 10 %".
  const [prev] = await db.query<{ outputs: Record<string, unknown> | null }>(
    `select outputs from runs where automation_id = $1 and id < $2 and state in ('SUCCEEDED', 'FAILED')
      and parent_run_id is not distinct from $3 order by id desc limit 1`,
    [r.automation_id, r.id, r.parent_run_id],
  )
  const previous = prev?.outputs ?? {}
  return {
    values,
    lookup(name) {
      switch (name) {
        case 'outcome':
        case 'state':
          return r.state
        case 'attempt':
          return r.attempt
        case 'durationMs':
          return durationMs
        case 'error':
          return r.error
        case 'triggerSource':
          return r.trigger_source
      }
      const [prefix, rest] = [name.slice(0, name.indexOf('_')), name.slice(name.indexOf('_') + 1)]
      if (name.includes('_')) {
        if (prefix === 'output' && rest in outputs) return toValue(outputs[rest])
        if (prefix === 'previousOutput') return toValue(previous[rest])
        if (prefix === 'checkOutcome') {
          const c = checks.find((x) => identifierOf(x.name) === rest)
          if (c) return c.outcome
        }
        if (prefix === 'stepOutcome') {
          const s = steps.find((x) => identifierOf(x.automation) === rest)
          if (s) return s.state
        }
        if (prefix === 'output' || prefix === 'checkOutcome' || prefix === 'stepOutcome') return null
      }
      if (name in variables) return toValue(variables[name])
      throw new ExpressionError(
        `${name} is not known here (outcome, output_<name>, checkOutcome_<name>, stepOutcome_<name>, previousOutput_<name>, or a variable)`,
      )
    },
  }
}
