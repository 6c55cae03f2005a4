import { z } from 'zod'
import { ValidationError } from '../errors'
import { queueStepMessage } from '../reporters/enqueue'
import { validateReporter } from '../reporters/store'
import { defineKind } from './kind'

/**
 * A "send message" step of a chain or workflow: queues one durable delivery (like a
 * reporter's) about the run it is part of (the chain, or itself when run alone), then
 * succeeds. The message is sent by the delivery worker, retried there, recorded in the
 * step's deliveries; a failing channel never fails the step, as with reporters.
 */
export const sendMessage = defineKind({
  kind: 'SEND_MESSAGE',
  description:
    'Sends a message (mail, Slack, Teams, webhook, SMS, dataset row) through a channel connection.',
  configSchema: z.object({
    connectionId: z.uuid('must be a channel connection id'),
    /** Liquid, about the enclosing run: `{{ run.state }}`, `{{ steps }}`, `{{ outputs }}`, and the step's `{{ params }}`. */
    template: z.string().min(1, 'a message needs a template').max(100_000),
    target: z.unknown().default({}),
  }),
  async checkSave(config, check) {
    try {
      await validateReporter(check.db, check.orgId, {
        name: 'message',
        ...config,
        event: 'END',
        condition: 'ANY',
      })
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err
      const issues = err.issues.map((i) => ({ path: `config.${i.path}`, message: i.message }))
      throw new ValidationError(
        `invalid config: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
        issues,
      )
    }
  },
  async execute({ config, parameters, run, services, log }) {
    const queued = await queueStepMessage(services.db, {
      runId: run.id,
      orgId: run.orgId,
      // The step's own parameters (a workflow passes `${variables.total}`) reach the template
      // as `params`; secrets attached to them are not enumerable and are never stored.
      spec: { ...config, params: { ...parameters } },
      maxAttempts: 8,
    })
    log('INFO', queued ? 'message queued' : 'message already queued by an earlier attempt')
    return { outputs: { queued: true } }
  },
})
