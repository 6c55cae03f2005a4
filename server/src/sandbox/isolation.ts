import { spawnSync } from 'node:child_process'
import { accessSync, constants, existsSync, lstatSync, readlinkSync, realpathSync } from 'node:fs'
import { dirname } from 'node:path'

/**
 * How sandbox processes are contained, decided once at start:
 * - `namespaces`: each runs under bubblewrap in its own network, pid and IPC namespaces on a
 *   read-only root of system dirs only; its network is the egress proxy, and when its
 *   first process dies the kernel kills every process left in its pid namespace.
 * - `none`: no namespaces (no bubblewrap, or user namespaces refused); the pool kills the
 *   whole process tree at the end of a job, and the network is either closed by the
 *   runners (`network: 'off'`, the default) or left open (`'direct'`, an admin's opt-in).
 */
export type SandboxIsolation =
  | { readonly mode: 'namespaces'; readonly bwrap: string }
  | { readonly mode: 'none'; readonly network: 'off' | 'direct'; readonly reason: string }

/** What the configuration asks for (SWITCHYARD_SANDBOX, SWITCHYARD_SCRIPT_DIRECT_NETWORK). */
export interface IsolationSettings {
  mode: 'auto' | 'bwrap' | 'none'
  directNetwork: boolean
}

const BWRAP_PATHS = ['/usr/bin/bwrap', '/bin/bwrap', '/usr/local/bin/bwrap']

/** The flags every sandbox gets; the probe runs `true` under the same ones. */
export const NAMESPACE_FLAGS = [
  '--unshare-net',
  '--unshare-pid',
  '--unshare-ipc',
  '--unshare-uts',
  '--die-with-parent',
  '--new-session',
]

function findBwrap(): string | undefined {
  return BWRAP_PATHS.find((path) => {
    try {
      accessSync(path, constants.X_OK)
      return true
    } catch {
      return false
    }
  })
}

/** Runs `true` in a sandbox like the real ones; undefined when it worked, else why not. */
function probe(bwrap: string): string | undefined {
  const result = spawnSync(
    bwrap,
    [...NAMESPACE_FLAGS, '--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', 'true'],
    { encoding: 'utf8', timeout: 10_000 },
  )
  if (result.status === 0) return undefined
  const why = (result.stderr || result.error?.message || `exit code ${result.status}`).trim()
  return `bubblewrap cannot create namespaces here (${why.split('\n')[0]})`
}

/** Decides the isolation for this node; throws when `bwrap` is demanded and cannot work. */
export function resolveIsolation(settings: IsolationSettings): SandboxIsolation {
  const network = settings.directNetwork ? 'direct' : 'off'
  if (settings.mode === 'none') return { mode: 'none', network, reason: 'SWITCHYARD_SANDBOX=none' }
  const bwrap = findBwrap()
  const problem = bwrap ? probe(bwrap) : 'bubblewrap (bwrap) is not installed'
  if (bwrap && problem === undefined) return { mode: 'namespaces', bwrap }
  if (settings.mode === 'bwrap') {
    throw new Error(
      `SWITCHYARD_SANDBOX=bwrap: ${problem}; install bubblewrap (apt-get install bubblewrap) and allow user namespaces, or set SWITCHYARD_SANDBOX=auto`,
    )
  }
  return { mode: 'none', network, reason: problem ?? 'unknown' }
}

/** One line for the start log: which containment is in force, and what scripts can reach. */
export function describeIsolation(isolation: SandboxIsolation, proxy: boolean): string {
  if (isolation.mode === 'namespaces') {
    return `scripts run in their own network and pid namespaces (bubblewrap); network ${proxy ? 'only through the egress proxy' : 'none'}`
  }
  const network =
    isolation.network === 'direct'
      ? 'direct network access, NOT filtered by the egress policy (SWITCHYARD_SCRIPT_DIRECT_NETWORK)'
      : 'no network (set SWITCHYARD_SCRIPT_DIRECT_NETWORK=true to allow it unfiltered)'
  return `scripts run without namespaces (${isolation.reason}); process trees are killed at the end of a run; ${network}`
}

// System dirs a runtime reads; the rest of the host (home dirs, /var, /run and the sockets in
// them, the server's data) is simply absent from the sandbox.
const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc', '/opt']

function bindReadOnly(path: string): string[] {
  if (!existsSync(path)) return []
  // Merged-/usr hosts make /bin and /lib symlinks: keep them links, so paths resolve as outside.
  if (lstatSync(path).isSymbolicLink() && SYSTEM_DIRS.includes(path)) {
    return ['--symlink', readlinkSync(path), path]
  }
  const real = realpathSync(path)
  return ['--ro-bind', real, real]
}

export interface BwrapMounts {
  /** The sandbox's temp dir: its cwd and the one place it may write. */
  dir: string
  /** Files and dirs outside the system dirs the runtime needs (runner, interpreter prefix). */
  readOnly: readonly string[]
  /** The dir holding the egress proxy's socket, when there is one. */
  proxyDir?: string
}

/** bwrap's arguments up to (not including) the command. */
export function bwrapArgs(mounts: BwrapMounts): string[] {
  const args = [...NAMESPACE_FLAGS]
  for (const path of SYSTEM_DIRS) args.push(...bindReadOnly(path))
  // The fresh /tmp first: mounts below come after it, so a runner or checkout that lives under
  // /tmp (a CI clone, say) is mounted on top of it instead of being hidden by it.
  args.push('--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp')
  for (const path of new Set(mounts.readOnly)) args.push(...bindReadOnly(path))
  args.push('--bind', mounts.dir, mounts.dir)
  if (mounts.proxyDir) args.push('--ro-bind', mounts.proxyDir, mounts.proxyDir)
  args.push('--chdir', mounts.dir)
  return args
}

/** The dir of a binary, real path: what must be mounted for it to run. */
export function installDirOf(executable: string): string {
  return dirname(realpathSync(executable))
}
