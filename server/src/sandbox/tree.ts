import { readFile, readdir } from 'node:fs/promises'

/** Children of a process, across all its threads (a child belongs to the thread that forked it). */
async function childrenOf(pid: number): Promise<number[]> {
  let tasks: string[]
  try {
    tasks = await readdir(`/proc/${pid}/task`)
  } catch {
    return []
  }
  const lists = await Promise.all(
    tasks.map((tid) => readFile(`/proc/${pid}/task/${tid}/children`, 'utf8').catch(() => '')),
  )
  return lists.flatMap((text) =>
    text
      .split(' ')
      .filter((p) => p !== '')
      .map(Number),
  )
}

/**
 * A process and all its descendants, found through /proc. A child that called setsid()
 * left the process group but is still its parent's child, so it is found here.
 */
export async function processTree(root: number): Promise<number[]> {
  const seen = new Set<number>([root])
  let frontier = [root]
  while (frontier.length > 0) {
    const next = (await Promise.all(frontier.map(childrenOf))).flat().filter((pid) => !seen.has(pid))
    for (const pid of next) seen.add(pid)
    frontier = next
  }
  return [...seen]
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig)
  } catch {
    // Gone already.
  }
}

/**
 * Kills a process and every descendant. Stops them first, so none can fork or reparent
 * while the tree is walked, and walks again until no new process turns up; then kills all.
 */
export async function killTree(root: number): Promise<void> {
  const stopped = new Set<number>()
  for (let pass = 0; pass < 5; pass++) {
    const tree = await processTree(root)
    const fresh = tree.filter((pid) => !stopped.has(pid))
    if (fresh.length === 0) break
    for (const pid of fresh) {
      signal(pid, 'SIGSTOP')
      stopped.add(pid)
    }
  }
  for (const pid of stopped) signal(pid, 'SIGKILL')
}

/** Resident memory of a whole process tree in MB; undefined where /proc is not readable. */
export async function treeRssMb(root: number): Promise<number | undefined> {
  const pids = await processTree(root)
  const kbs = await Promise.all(
    pids.map(async (pid) => {
      const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '')
      const kb = status.match(/^VmRSS:\s+(\d+) kB/m)?.[1]
      return kb === undefined ? undefined : Number(kb)
    }),
  )
  const known = kbs.filter((kb): kb is number => kb !== undefined)
  return known.length === 0 ? undefined : known.reduce((a, b) => a + b, 0) / 1024
}
