import { z } from 'zod'
import { pythonAvailable } from '../sandbox'
import { secretsOf } from '../secrets/references'
import { defineKind } from './kind'

/** Runs user JavaScript, TypeScript or Python in a sandboxed child process (see sandbox/). */
export const script = defineKind({
  kind: 'SCRIPT',
  description:
    'Runs a JavaScript, TypeScript or Python script outside the server, with a timeout and memory cap.',
  configSchema: z.object({
    language: z.enum(['javascript', 'typescript', 'python']).default('javascript'),
    code: z.string().min(1, 'the script is empty').max(200_000, 'at most 200,000 characters'),
    memoryMb: z.number().int().min(32).max(4096).default(256),
    /** Used when the automation sets no timeout. */
    timeoutMs: z.number().int().min(100).max(86_400_000).default(300_000),
  }),
  async execute({ config, parameters, run, signal, log, services }) {
    if (config.language === 'python' && !pythonAvailable()) {
      throw new Error('python3 is not installed on this worker; install it or use javascript/typescript')
    }
    const { outputs } = await services.sandbox.run({
      language: config.language,
      code: config.code,
      args: {
        params: parameters,
        // The secrets its code names (secret.NAME), and only those: read as variables.secret.NAME.
        variables: { secret: secretsOf(parameters) },
        triggered_by_user: run.triggeredBy,
        run: {
          id: run.id,
          automationId: run.automationId,
          attempt: run.attempt,
          triggerSource: run.triggerSource,
        },
      },
      timeoutMs: config.timeoutMs,
      memoryMb: config.memoryMb,
      signal,
      onLog: (level, message) => log(level, message),
    })
    return { outputs }
  },
})
