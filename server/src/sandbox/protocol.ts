import { z } from 'zod'
import { LogLevel } from '../domain'

// What a runner may send back. User code shares the process with the runner and can
// send anything, so every message is checked here, at the boundary.

const logMessage = z.object({ type: z.literal('log'), level: z.enum(LogLevel), message: z.string() })
const doneMessage = z.object({ type: z.literal('done'), outputs: z.record(z.string(), z.unknown()) })
const failedMessage = z.object({
  type: z.literal('failed'),
  message: z.string(),
  line: z.number().int().positive().optional(),
  column: z.number().int().positive().optional(),
  /** The runtime itself ran out of memory (a RangeError on allocation, Python's MemoryError). */
  memory: z.boolean().optional(),
})

export const childMessage = z.discriminatedUnion('type', [logMessage, doneMessage, failedMessage])
export type ChildMessage = z.infer<typeof childMessage>

/** The one message a runner receives: the code to run and the arguments in scope. */
export interface JobMessage {
  type: 'job'
  source: string
  args: Record<string, unknown>
  memoryMb: number
}
