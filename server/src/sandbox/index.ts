/**
 * The script sandbox used by the SCRIPT kind: user code never runs in the server process.
 * See types.ts for the vocabulary and pool.ts for how processes are kept warm.
 */
export {
  type IsolationSettings,
  type SandboxIsolation,
  describeIsolation,
  resolveIsolation,
} from './isolation'
export { createSandboxPool } from './pool'
export { pythonAvailable } from './python'
export {
  type SandboxPool,
  type SandboxPoolOptions,
  ScriptError,
  type ScriptErrorReason,
  type ScriptJob,
  type ScriptLanguage,
  type ScriptResult,
} from './types'
