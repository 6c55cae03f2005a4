import type { Database } from '../db/database'
import { coerceError } from '../errors'
import { type KindServices, RunFailure } from '../kinds/kind'
import { redactDeep, redactor, withSecrets } from '../secrets/references'
import { openSecretsForRun } from '../secrets/store'
import { type Executables, UnknownKind } from './executables'
import type { LogWriter } from './log-writer'
import type { RunStop } from './run-stop'
import type { Claim, Outcome } from './types'

interface ExecuteArgs {
  claim: Claim
  /** The worker's for this run: it stops it with LOST or CANCELLED, the run's timeout with TIMED_OUT. */
  stop: RunStop
  services: KindServices
  logs: LogWriter
  db: Database
  executables: Executables
}

const NO_SECRETS: ReadonlyMap<string, string> = new Map()
const unredacted = (text: string) => text

/**
 * Executes one claimed run with its kind and turns what happened into an
 * Outcome. Returns undefined when the lease was lost: the outcome is no longer
 * ours to record.
 */
export async function executeRun({
  claim,
  stop,
  services,
  logs,
  db,
  executables,
}: ExecuteArgs): Promise<Outcome | undefined> {
  const { run } = claim
  // Secrets the config names are opened for this run only; whatever it logs or fails with shows *** instead.
  let redact = unredacted
  // Log lines carry the claim's fencing token: lines of a superseded attempt are refused.
  const write = (level: Parameters<LogWriter['write']>[1], message: string) =>
    logs.write(claim, level, redact(message))
  let timer: NodeJS.Timeout | undefined
  if (run.deadline_at) {
    const ms = new Date(run.deadline_at).getTime() - Date.now()
    timer = setTimeout(
      () => stop.stop({ kind: 'TIMED_OUT', message: `timed out after ${run.timeout_ms} ms` }),
      Math.max(0, ms),
    )
  }
  try {
    const { kind, config, secretNames } = await executables.of(db, run)
    const ids = { orgId: run.org_id, automationId: run.automation_id, runId: run.id }
    const secrets =
      secretNames.length > 0
        ? await openSecretsForRun(db, services.data.secretsKey, ids, secretNames)
        : NO_SECRETS
    if (secrets.size > 0) redact = redactor(secrets)
    // Secrets opened later (a datasource's connection string) join the config's, redaction included.
    let opened: Map<string, string> | undefined
    const openSecrets = async (names: readonly string[]) => {
      const more = await openSecretsForRun(db, services.data.secretsKey, ids, names)
      opened ??= new Map(secrets)
      for (const [k, v] of more) opened.set(k, v)
      redact = redactor(opened)
      return more
    }
    const result = await stop.race(
      kind.execute({
        run: {
          id: run.id,
          orgId: run.org_id,
          automationId: run.automation_id,
          attempt: run.attempt,
          triggerSource: run.trigger_source,
          triggeredBy: run.triggered_by,
          runAs: run.run_as,
        },
        config,
        parameters: withSecrets(run.parameters, secrets),
        // Made only for a kind that listens (see RunStop).
        get signal() {
          return stop.signal
        },
        log: write,
        openSecrets,
        services,
      }),
    )
    if ('orchestrate' in result) return { claim, orchestrate: true }
    const outputs = result.outputs ?? {}
    return {
      claim,
      state: 'SUCCEEDED',
      outputs: redact === unredacted ? outputs : redactDeep(outputs, redact),
    }
  } catch (err) {
    const reason = stop.reason
    if (reason) {
      if (reason.kind === 'LOST') return undefined
      write('WARN', reason.message)
      return { claim, state: reason.kind, error: reason.message }
    }
    if (err instanceof UnknownKind) return { claim, state: 'FAILED', error: err.message }
    const message = redact(runErrorOf(err, run.kind, services.log))
    write('ERROR', message)
    const outputs = err instanceof RunFailure && err.outputs ? redactDeep(err.outputs, redact) : undefined
    return { claim, state: 'FAILED', error: message, ...(outputs ? { outputs } : {}) }
  } finally {
    if (timer) clearTimeout(timer)
  }
}

/**
 * The error a run records. A TypeError or ReferenceError thrown in the server's own code
 * is a bug of ours, not something the user can act on: its text ("Cannot read properties
 * of undefined") goes to the server log, and the run says so plainly. User code (scripts)
 * and expected failures reach here as other errors and keep their message.
 */
export function runErrorOf(err: unknown, kind: string, log: KindServices['log']): string {
  if (err instanceof TypeError || err instanceof ReferenceError) {
    log.error({ err, kind }, 'internal error while executing a run')
    return `internal error while running this ${kind} step; the server log has the details`
  }
  return coerceError(err).message
}
