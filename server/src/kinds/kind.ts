import type { z } from 'zod'
import type { DataServices } from '../data/services'
import type { Database } from '../db/database'
import type { Orchestrator } from '../engine/orchestration'
import type { LogLevel, Role } from '../domain'
import type { Logger } from '../log'
import type { SandboxPool } from '../sandbox'
import type { Warehouse } from '../warehouse/warehouse'

/** What a kind's execute() sees of its run. */
export interface RunInfo {
  id: string
  orgId: string
  automationId: string
  attempt: number
  triggerSource: string
  triggeredBy: string | null
  runAs: string | null
}

export interface KindServices {
  db: Database
  log: Logger
  sandbox: SandboxPool
  warehouse: Warehouse
  data: DataServices
}

export interface RunContext<C> {
  run: RunInfo
  config: C
  parameters: Record<string, unknown>
  /** Aborted on cancel, timeout or lost lease; long work must watch it. */
  signal: AbortSignal
  log(level: LogLevel, message: string): void
  /**
   * Opens more organization secrets for this run (a datasource's connection string
   * names them): their use is recorded like the config's, and their values are
   * redacted from the run's logs, error and outputs from then on.
   */
  openSecrets(names: readonly string[]): Promise<ReadonlyMap<string, string>>
  services: KindServices
}

/** A kind either finishes with outputs, or orchestrates (CHAIN): its children move it forward. */
export type KindResult = { outputs?: Record<string, unknown> } | { orchestrate: true }

/** Problems found when an automation is saved, beyond the config schema (e.g. a chain cycle). */
export interface SaveCheck {
  db: Database
  orgId: string
  automationId: string | null
  /** Who saves: what the config names (a datasource) must be theirs to use. */
  saver: { userId: string; role: Role }
}

export interface KindModule<S extends z.ZodType = z.ZodType> {
  readonly kind: string
  readonly description: string
  readonly configSchema: S
  execute(ctx: RunContext<z.output<S>>): Promise<KindResult>
  /** Present on kinds whose execute() returns `orchestrate`: how the run starts and advances its children. */
  readonly orchestrator?: Orchestrator<z.output<S>>
  /** Extra validation at save time; throws ValidationError. */
  checkSave?(config: z.output<S>, check: SaveCheck): Promise<void>
}

/** Declares a kind with its config type inferred from its schema. */
export function defineKind<S extends z.ZodType>(mod: KindModule<S>): KindModule<S> {
  return mod
}

/**
 * Thrown by execute() for an expected failure: the message reaches the run's error as is.
 * Outputs, when given, are kept on the failed run (e.g. every check's outcome, not only
 * the ones that failed it).
 */
export class RunFailure extends Error {
  override name = 'RunFailure'
  constructor(
    message: string,
    readonly outputs?: Record<string, unknown>,
  ) {
    super(message)
  }
}
