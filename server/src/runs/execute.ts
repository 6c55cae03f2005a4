import type { Database } from '../db/database'
import { coerceError } from '../errors'
import { type KindServices, RunFailure } from '../kinds/kind'
import { getKind } from '../kinds/registry'
import type { Outcome } from '../queue/complete'
import type { RunRow } from '../queue/run-row'
import { loadDefinition } from '../queue/versions'
import { redactDeep, redactor, secretReferences, withSecrets } from '../secrets/references'
import { openSecretsForRun } from '../secrets/store'
import { parseInput } from '../validation'
import type { LogWriter } from './log-writer'

/** Why a run's signal was aborted. LOST: our lease is gone, someone else owns the run now. */
export interface StopReason {
  kind: 'CANCELLED' | 'TIMED_OUT' | 'LOST'
  message: string
}

interface ExecuteArgs {
  run: RunRow
  signal: AbortSignal
  services: KindServices
  logs: LogWriter
  db: Database
}

/**
 * Executes one claimed run with its kind and turns what happened into an
 * Outcome. Returns undefined when the lease was lost: the outcome is no longer
 * ours to record.
 */
export async function executeRun({
  run,
  signal,
  services,
  logs,
  db,
}: ExecuteArgs): Promise<Outcome | undefined> {
  const controller = new AbortController()
  const stop = (reason: StopReason) => {
    if (!controller.signal.aborted) controller.abort(reason)
  }
  signal.addEventListener('abort', () => stop(signal.reason as StopReason), { once: true })
  let timer: NodeJS.Timeout | undefined
  if (run.deadline_at) {
    const ms = new Date(run.deadline_at).getTime() - Date.now()
    timer = setTimeout(
      () => stop({ kind: 'TIMED_OUT', message: `timed out after ${run.timeout_ms} ms` }),
      Math.max(0, ms),
    )
  }
  const aborted = new Promise<never>((_, reject) =>
    controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true }),
  )
  aborted.catch(() => {})
  // Secrets the config names are opened for this run only; whatever it logs or fails with shows *** instead.
  let redact = (text: string) => text
  try {
    const def = await loadDefinition(db, run.version_id)
    const kind = getKind(def.kind)
    if (!kind) return { run, state: 'FAILED', error: `unknown kind ${def.kind}` }
    // Saved configs were validated; a failure here means the kind's schema changed since,
    // and the run fails with each bad field named (the catch below records it).
    const config = parseInput(kind.configSchema, def.config, 'config')
    const ids = { orgId: run.org_id, automationId: run.automation_id, runId: run.id }
    const secrets = await openSecretsForRun(
      db,
      services.data.secretsKey,
      ids,
      secretReferences(def.kind, def.config),
    )
    redact = redactor(secrets)
    const result = await Promise.race([
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
        signal: controller.signal,
        log: (level, message) => logs.write(run.id, run.org_id, level, redact(message)),
        services,
      }),
      aborted,
    ])
    if ('detach' in result) return { run, detach: result.firstChild }
    return { run, state: 'SUCCEEDED', outputs: redactDeep(result.outputs ?? {}, redact) }
  } catch (err) {
    if (controller.signal.aborted) {
      const reason = controller.signal.reason as StopReason
      if (reason.kind === 'LOST') return undefined
      logs.write(run.id, run.org_id, 'WARN', reason.message)
      return { run, state: reason.kind, error: reason.message }
    }
    const message = redact(coerceError(err).message)
    logs.write(run.id, run.org_id, 'ERROR', message)
    const outputs = err instanceof RunFailure && err.outputs ? redactDeep(err.outputs, redact) : undefined
    return { run, state: 'FAILED', error: message, ...(outputs ? { outputs } : {}) }
  } finally {
    if (timer) clearTimeout(timer)
  }
}
