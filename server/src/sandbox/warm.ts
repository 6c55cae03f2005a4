import type { SandboxProcess } from './child'

/**
 * What a sandbox process is started for: a warm one serves only jobs of the same spec. The
 * isolation, network mode and egress proxy are the pool's, the same for all its processes,
 * and nothing of the run (organization, user, arguments) reaches a process before its job.
 */
export interface SandboxSpec {
  readonly language: 'node' | 'python'
  readonly memoryMb: number
}

export interface WarmOptions {
  /** Idle processes kept per spec; 0 keeps none. */
  size: number
  /** A spec without a job this long has its idle processes killed, and is refilled only when used again. */
  idleMs: number
  /** Specs kept warm at once: a new one drains the least recently used beyond this. */
  maxSpecs: number
  spawn(spec: SandboxSpec): Promise<SandboxProcess>
}

/**
 * Warm processes: started ahead of need, each given to exactly one job and then killed by it,
 * so a warm process is as fresh as a cold one, only sooner.
 */
export interface WarmProcesses {
  /** A warm process for the spec (a ready one first, else one still booting), or none. */
  take(spec: SandboxSpec): SandboxProcess | undefined
  /** Tops the spec up to `size` idle processes, starting to keep it warm if it was not. */
  refill(spec: SandboxSpec): void
  /** Kills every idle process and stops refilling, for good. */
  close(): void
  readonly idle: number
}

interface WarmSet {
  readonly spec: SandboxSpec
  readonly idle: SandboxProcess[]
  spawning: number
  drainTimer?: NodeJS.Timeout
}

const keyOf = (spec: SandboxSpec) => `${spec.language}:${spec.memoryMb}`

export function createWarmProcesses(options: WarmOptions): WarmProcesses {
  // Map order is use order: the first entry is the least recently used spec.
  const sets = new Map<string, WarmSet>()
  let closed = false

  function drain(key: string): void {
    const set = sets.get(key)
    if (!set) return
    sets.delete(key)
    clearTimeout(set.drainTimer)
    for (const proc of set.idle.splice(0)) proc.kill()
  }

  /** The spec's set, created on first use, moved to the most recent end, its idle clock restarted. */
  function touch(spec: SandboxSpec): WarmSet {
    const key = keyOf(spec)
    const set = sets.get(key) ?? { spec, idle: [], spawning: 0 }
    sets.delete(key)
    sets.set(key, set)
    clearTimeout(set.drainTimer)
    // unref: an idle clock must not keep a server (or a test) alive.
    set.drainTimer = setTimeout(() => drain(key), options.idleMs).unref()
    for (const oldest of sets.keys()) {
      if (sets.size <= options.maxSpecs) break
      drain(oldest)
    }
    return set
  }

  function add(set: WarmSet, proc: SandboxProcess): void {
    // Drained or closed while it booted: it is not wanted any more.
    if (closed || sets.get(keyOf(set.spec)) !== set || !proc.alive) {
      proc.kill()
      return
    }
    set.idle.push(proc)
    // An idle process that dies is dropped; the next job replaces it (no respawn loop when
    // the runtime cannot start at all).
    proc.exited.then(() => {
      const index = set.idle.indexOf(proc)
      if (index >= 0) set.idle.splice(index, 1)
    })
  }

  return {
    take(spec) {
      if (closed || options.size === 0) return undefined
      const set = touch(spec)
      const index = set.idle.findIndex((proc) => proc.alive && proc.ready)
      const [proc] = set.idle.splice(Math.max(index, 0), 1)
      return proc?.alive ? proc : undefined
    },

    refill(spec) {
      if (closed || options.size === 0) return
      const set = touch(spec)
      while (set.idle.length + set.spawning < options.size) {
        set.spawning++
        options.spawn(spec).then(
          (proc) => {
            set.spawning--
            add(set, proc)
          },
          () => {
            // No temp dir (disk full?): the next job spawns cold and reports the error itself.
            set.spawning--
          },
        )
      }
    },

    close() {
      closed = true
      for (const key of [...sets.keys()]) drain(key)
    },

    get idle() {
      let count = 0
      for (const set of sets.values()) count += set.idle.length
      return count
    },
  }
}
