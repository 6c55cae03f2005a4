import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { expect } from 'vitest'
import {
  type SandboxPool,
  ScriptError,
  type ScriptErrorReason,
  type ScriptJob,
} from '../../server/src/sandbox/index'

export const args = {
  params: { a: 2, b: 3, name: 'Ada' },
  variables: { region: 'eu' },
  triggered_by_user: 'user-7',
  run: { id: 'run-1', automationId: 'auto-1', attempt: 1 },
}

/** A job with the defaults every test would repeat. */
export function job(
  language: ScriptJob['language'],
  code: string,
  extra: Partial<ScriptJob> = {},
): ScriptJob {
  return { language, code, args, timeoutMs: 10_000, ...extra }
}

/** Runs a job that must fail, and returns its ScriptError after checking the reason. */
export async function failure(
  pool: SandboxPool,
  j: ScriptJob,
  reason: ScriptErrorReason,
): Promise<ScriptError> {
  const err = await pool.run(j).then(
    (result) => {
      throw new Error(`expected ${reason}, got outputs ${JSON.stringify(result.outputs)}`)
    },
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(ScriptError)
  const scriptError = err as ScriptError
  expect(scriptError.reason, scriptError.message).toBe(reason)
  return scriptError
}

interface ProcessEntry {
  pid: number
  ppid: number
  cmdline: string
}

/** Live (not zombie) processes, with their parent and command line. */
function liveProcesses(): ProcessEntry[] {
  const found: ProcessEntry[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      // Field 4 (ppid) follows the parenthesised command name, which may contain spaces.
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8')
      if (state !== 'Z') found.push({ pid: Number(entry), ppid: Number(ppid), cmdline })
    } catch {
      // The process ended while we looked.
    }
  }
  return found
}

/**
 * Live sandbox processes of this test process's pools: children of their launchers (which
 * are children of this process) whose command line mentions a sandbox runner or a zygote.
 */
export function sandboxChildren(): number[] {
  const all = liveProcesses()
  const launchers = new Set(launchersIn(all))
  return all
    .filter((p) => launchers.has(p.ppid) && /(runner|zygote)\.(mjs|py)/.test(p.cmdline))
    .map((p) => p.pid)
}

function launchersIn(all: ProcessEntry[]): number[] {
  return all.filter((p) => p.ppid === process.pid && p.cmdline.includes('launcher.mjs')).map((p) => p.pid)
}

/** Live launcher processes (launcher.mjs) started by this test process's pools. */
export function launcherChildren(): number[] {
  return launchersIn(liveProcesses())
}

/** Waits until `check` holds, polling; fails with `what` after `ms`. */
export async function eventually(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Live (not zombie) processes whose working dir is `dir`: a sandbox's, seen from outside any namespace. */
export function pidsIn(dir: string): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      // A dir removed while a process still sits in it reads "… (deleted)".
      const cwd = readlinkSync(`/proc/${entry}/cwd`).replace(/ \(deleted\)$/, '')
      const state = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.[0]
      if (cwd === dir && state !== 'Z') pids.push(Number(entry))
    } catch {
      // Gone, or not ours to look at.
    }
  }
  return pids
}
