import type { Definition } from '../automations/definition'
import type { Database } from '../db/database'
import { coerceError } from '../errors'
import { type KindModule, type KindServices, RunFailure } from '../kinds/kind'
import { redactDeep, redactor, secretReferences, withSecrets } from '../secrets/references'
import { openSecretsForRun } from '../secrets/store'
import { parseInput } from '../validation'
import type { Engine } from './engine'
import type { LogWriter } from './log-writer'
import type { Claim, Outcome } from './types'

/** Why a run's signal was aborted. LOST: our lease is gone, someone else owns the run now. */
export interface StopReason {
  kind: 'CANCELLED' | 'TIMED_OUT' | 'LOST'
  message: string
}

interface ExecuteArgs {
  claim: Claim
  /** The worker's for this run: it aborts it with LOST or CANCELLED, the run's timeout with TIMED_OUT. */
  controller: AbortController
  services: KindServices
  logs: LogWriter
  db: Database
  engine: Engine
  kinds: (name: string) => KindModule | undefined
}

/**
 * Executes one claimed run with its kind and turns what happened into an
 * Outcome. Returns undefined when the lease was lost: the outcome is no longer
 * ours to record.
 */
export async function executeRun({
  claim,
  controller,
  services,
  logs,
  db,
  engine,
  kinds,
}: ExecuteArgs): Promise<Outcome | undefined> {
  const { run } = claim
  // Secrets the config names are opened for this run only; whatever it logs or fails with shows *** instead.
  let redact = (text: string) => text
  // Log lines carry the claim's fencing token: lines of a superseded attempt are refused.
  const write = (level: Parameters<LogWriter['write']>[1], message: string) =>
    logs.write(claim, level, redact(message))
  const stop = (reason: StopReason) => {
    if (!controller.signal.aborted) controller.abort(reason)
  }
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
  try {
    const def = await definitionOfRun(engine, db, claim.run, kinds)
    const kind = kinds(def.kind)
    if (!kind) return { claim, state: 'FAILED', error: `unknown kind ${def.kind}` }
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
    // Secrets opened later (a datasource's connection string) join the config's, redaction included.
    const opened = new Map(secrets)
    const openSecrets = async (names: readonly string[]) => {
      const more = await openSecretsForRun(db, services.data.secretsKey, ids, names)
      for (const [k, v] of more) opened.set(k, v)
      redact = redactor(opened)
      return more
    }
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
        log: write,
        openSecrets,
        services,
      }),
      aborted,
    ])
    if ('orchestrate' in result) return { claim, orchestrate: true }
    return { claim, state: 'SUCCEEDED', outputs: redactDeep(result.outputs ?? {}, redact) }
  } catch (err) {
    if (controller.signal.aborted) {
      const reason = controller.signal.reason as StopReason
      if (reason.kind === 'LOST') return undefined
      write('WARN', reason.message)
      return { claim, state: reason.kind, error: reason.message }
    }
    const message = redact(runErrorOf(err, run.kind, services.log))
    write('ERROR', message)
    const outputs = err instanceof RunFailure && err.outputs ? redactDeep(err.outputs, redact) : undefined
    return { claim, state: 'FAILED', error: message, ...(outputs ? { outputs } : {}) }
  } finally {
    if (timer) clearTimeout(timer)
  }
}

/**
 * What a run executes: its version's definition, or, for a step defined inside its
 * parent's version (a workflow's inline SQL step: the run's kind differs from its
 * version's), the definition the parent's kind gives for that step.
 */
async function definitionOfRun(
  engine: Engine,
  db: Database,
  run: Claim['run'],
  kinds: ExecuteArgs['kinds'],
): Promise<Definition> {
  const def = await engine.definition(db, run.version_id)
  if (def.kind === run.kind) return def
  const owner = kinds(def.kind)
  const inline =
    owner?.orchestrator?.inlineStep && run.step !== null
      ? owner.orchestrator.inlineStep(owner.configSchema.parse(def.config), def, run.step)
      : undefined
  if (!inline) throw new Error(`run ${run.id} is a ${run.kind} step that ${def.kind} does not define`)
  return inline
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
