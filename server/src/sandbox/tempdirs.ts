import { mkdtemp, readdir, realpath, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

// The server's pid is in the name, so a later server can tell whose dirs were orphaned.
const PREFIX = 'switchyard-sandbox-'

/** A fresh, empty dir for one sandbox process (its cwd, and all it may write). */
export async function makeSandboxDir(): Promise<string> {
  // Real path, because the permission model compares the paths Node resolves.
  return realpath(await mkdtemp(join(tmpdir(), `${PREFIX}${process.pid}-`)))
}

export async function removeSandboxDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true })
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: alive, just not ours to signal.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Removes the dirs of servers that died without cleaning up (SIGKILL, OOM killer): their
 * sandboxes died with them (pdeathsig), but nobody was left to delete the files. A dir
 * whose server pid is alive is never touched, even if the pid was reused.
 */
export async function sweepOrphanedDirs(): Promise<void> {
  const names = await readdir(tmpdir()).catch(() => [] as string[])
  await Promise.all(
    names.map(async (name) => {
      if (!name.startsWith(PREFIX)) return
      const pid = Number(name.slice(PREFIX.length).split('-')[0])
      if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || isAlive(pid)) return
      await removeSandboxDir(join(tmpdir(), name)).catch(() => {})
    }),
  )
}
