import type { Definition } from '../automations/definition'
import { setBounded } from '../bounded-map'
import type { Database } from '../db/database'
import type { KindModule } from '../kinds/kind'
import { secretReferences } from '../secrets/references'
import { parseInput } from '../validation'
import type { Engine } from './engine'
import type { Claim } from './types'

/** What a run of one version (or of one inline step of it) executes, worked out once. */
export interface Executable {
  def: Definition
  kind: KindModule
  /** The config as the kind's schema parsed it, frozen: every run of the version shares it. */
  config: unknown
  /** The secrets the config names. */
  secretNames: readonly string[]
}

export interface Executables {
  /** The executable of a claimed run; throws when its kind is unknown or its config no longer parses. */
  of(db: Database, run: Claim['run']): Promise<Executable>
}

/**
 * Versions never change, so what one executes (its kind, its parsed config, the secrets
 * it names) is worked out at its first run and kept, instead of parsing the config and
 * scanning it for secret names at every run. Belongs to one worker (ids are per
 * database), bounded like the definition cache.
 */
export function createExecutables(
  engine: Engine,
  kinds: (name: string) => KindModule | undefined,
  max = 2000,
): Executables {
  const cache = new Map<string, Executable>()
  return {
    async of(db, run) {
      // A workflow's inline step is defined by its parent's version and its step index.
      const key = `${run.version_id}:${run.kind}:${run.step ?? ''}`
      const hit = cache.get(key)
      if (hit) return hit
      const def = await definitionOfRun(engine, db, run, kinds)
      const kind = kinds(def.kind)
      if (!kind) throw new UnknownKind(def.kind)
      // Saved configs were validated; a failure here means the kind's schema changed since,
      // and the run fails with each bad field named.
      const config = deepFreeze(parseInput(kind.configSchema, def.config, 'config'))
      const made: Executable = { def, kind, config, secretNames: secretReferences(def.kind, def.config) }
      setBounded(cache, key, made, max)
      return made
    },
  }
}

/** A run whose kind this node does not know (a version saved by a newer node). */
export class UnknownKind extends Error {
  constructor(readonly kind: string) {
    super(`unknown kind ${kind}`)
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
  kinds: (name: string) => KindModule | undefined,
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

/** Shared by every run of a version: a kind that changed it would change the next run's config. */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}
