import { randomUUID, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { hashToken } from '../auth/tokens'
import { resolveParameters } from '../automations/parameters'
import { ValidationError, coerceError } from '../errors'
import type { Services } from '../services'
import { BAD_TEXT, badTextPath } from '../http/text'
import { BodyTooLarge, readBody } from './body'
import type { WebhookConfig } from './config'
import { TRIGGER_COLUMNS, type TriggerRow } from './domain'
import { fireTrigger, loadTarget } from './fire'
import { createRateLimiter } from './rate-limit'
import { waitForRun } from './wait'

type Hook = TriggerRow & { token_hash: string; live: boolean; auto: boolean }

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers })
  res.end(JSON.stringify(body))
}

/**
 * POST /hooks/<token>: runs the token's automation as its run-as user with the
 * JSON body as parameters. Answers 202 with the run id at once, or with
 * `?wait=<seconds>` waits for the end and answers 200 with the outcome.
 * `Idempotency-Key` makes a retried delivery return the first run.
 */
export function createWebhookHandler(services: Services) {
  const { db, config } = services
  const limits = config.triggers
  const limiter = createRateLimiter()

  const firstRun = async (triggerId: string, key: string) =>
    (
      await db.query<{ run_id: string | null }>(
        'select run_id from trigger_fires where trigger_id = $1 and fire_key = $2',
        [triggerId, key],
      )
    )[0]?.run_id ?? null

  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://hooks')
    const token = safeDecode(url.pathname.slice('/hooks/'.length))
    if (req.method !== 'POST') return json(res, 405, { error: 'use POST' }, { allow: 'POST' })
    // Looked up by hash whatever the token looks like: a wrong token costs the same as a right one.
    const hash = hashToken(token)
    const [hook] = await db.query<Hook>(
      `select ${TRIGGER_COLUMNS}, token_hash, exists (select 1 from automations a
         where a.id = t.automation_id and a.deleted_at is null) as live,
         coalesce((select auto_triggers from trigger_settings s where s.automation_id = t.automation_id), true) as auto
       from triggers t where token_hash = $1 and type = 'WEBHOOK'`,
      [hash],
    )
    const same = hook ? timingSafeEqual(Buffer.from(hook.token_hash), Buffer.from(hash)) : false
    if (!hook || !same || !hook.live) return json(res, 404, { error: 'not found' })
    if (!hook.enabled || !hook.auto) {
      return json(res, 403, {
        error: "this webhook is disabled (its trigger or the automation's auto-triggers are off)",
      })
    }
    const cfg = hook.config as WebhookConfig
    const retryAfter = limiter.take(hook.id, cfg.rateLimitPerMinute ?? limits.webhookRatePerMinute)
    if (retryAfter > 0) {
      return json(
        res,
        429,
        { error: `rate limit reached; retry in ${retryAfter}s` },
        { 'retry-after': String(retryAfter) },
      )
    }
    const wait = parseWait(url.searchParams.get('wait'), limits.webhookMaxWaitSeconds)
    if (typeof wait === 'string') return json(res, 400, { error: wait })
    const type = String(req.headers['content-type'] ?? '')
    if (type && !/json/i.test(type)) {
      return json(res, 415, {
        error: `send the parameters as JSON (content-type application/json), not ${type}`,
      })
    }
    let body: unknown = {}
    try {
      const raw = await readBody(req, limits.webhookMaxBodyBytes)
      if (raw.length > 0) body = JSON.parse(raw.toString('utf8'))
      const bad = badTextPath(body, 'body')
      if (bad) return json(res, 400, { error: `${bad}: ${BAD_TEXT}` })
    } catch (err) {
      if (err instanceof BodyTooLarge) return json(res, 413, { error: err.message }, { connection: 'close' })
      return json(res, 400, { error: `the body is not valid JSON: ${coerceError(err).message}` })
    }
    const target = await loadTarget(db, hook.org_id, hook.automation_id)
    if (!target) return json(res, 404, { error: 'not found' })
    let parameters: Record<string, unknown>
    try {
      const given = cfg.bodyParameter
        ? { ...hook.parameters, [cfg.bodyParameter]: body }
        : mergeBody(hook, body)
      parameters = resolveParameters(target.definition.parameters, given)
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err
      return json(res, 422, { error: err.message, issues: err.issues })
    }
    const idem = req.headers['idempotency-key']
    const key =
      typeof idem === 'string' && idem.length > 0 ? `idem:${idem.slice(0, 200)}` : `req:${randomUUID()}`
    const at = new Date()
    const fired = await db.transaction(async (tx) => {
      const r = await fireTrigger(services.engine, tx, {
        triggerId: hook.id,
        target,
        key,
        source: 'WEBHOOK',
        parameters,
        at,
      })
      if (r.kind !== 'FIRED') return r
      await tx.query(
        'update triggers set last_evaluated_at = $2, last_fired_at = $2, last_run_id = $3 where id = $1',
        [hook.id, at, r.run.id],
      )
      return r
    })
    // Nothing was claimed: a corrected retry may use the same Idempotency-Key.
    if (fired.kind === 'INVALID') return json(res, 422, { error: fired.message })
    const runId = fired.kind === 'FIRED' ? fired.run.id : await firstRun(hook.id, key)
    if (!runId)
      return json(res, 409, { error: 'this Idempotency-Key was used by a request that started no run' })
    if (fired.kind === 'FIRED' && fired.skipped) {
      return json(res, 409, { runId, state: 'SKIPPED', error: fired.run.error })
    }
    const hungUp = new AbortController()
    res.on('close', () => hungUp.abort())
    const done = await waitForRun(services, runId, wait * 1000, hungUp.signal)
    if (wait === 0 || !done.final) {
      if (wait === 0) return json(res, 202, { runId, state: done.state })
      return json(res, 202, {
        runId,
        state: done.state,
        error: `still ${done.state} after ${wait}s; ask GraphQL run(id: "${runId}")`,
      })
    }
    json(res, 200, { runId, state: done.state, outputs: done.outputs, error: done.error })
  }
}

/** The body's fields over the trigger's own parameters; anything but an object is refused by resolveParameters. */
function mergeBody(hook: TriggerRow, body: unknown): unknown {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return body
  return { ...hook.parameters, ...(body as Record<string, unknown>) }
}

function parseWait(raw: string | null, max: number): number | string {
  if (raw === null || raw === '') return 0
  const n = Number(raw)
  if (!Number.isFinite(n) || n < 0) return `wait must be a number of seconds, got "${raw}"`
  if (n > max) return `wait is at most ${max} seconds (SWITCHYARD_WEBHOOK_MAX_WAIT_SECONDS)`
  return n
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}
