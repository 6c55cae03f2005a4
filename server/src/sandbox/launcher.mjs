// The sandbox launcher: a small process that forks every sandbox process on the server's behalf.
//
// fork() copies the page tables of the process that calls it, so a spawn costs CPU in
// proportion to the caller's memory: about 7 ms of the event loop for a server of 200 MB,
// 16 ms at 500 MB, paid for every sandbox (warm ones too) and blocking everything else the
// server does meanwhile. This process stays small (no server code, no data), so spawning from
// it costs about 1 ms, on a core other than the server's.
//
// It runs no user code and decides nothing: it spawns what the server asks for (bwrap, or
// setpriv and a runtime) with the arguments and environment the server built, relays the
// child's stdin, stdout, stderr and fd 3 over the IPC channel, reports its exit and kills its
// process group when told. Plain JavaScript with built-ins only, so it needs no loader.
// If the server dies the IPC channel closes and this kills every child and exits; it is
// also started with pdeathsig where setpriv exists, and the sandboxes with --die-with-parent
// (or pdeathsig), so a SIGKILL anywhere along the chain takes the sandboxes with it.
import { spawn } from 'node:child_process'

/** Bytes of one child's output sent but not yet written to the channel, past which it is paused. */
const MAX_IN_FLIGHT = 1024 * 1024

const children = new Map()

function send(message, done) {
  if (!process.connected) return
  process.send(message, undefined, undefined, done)
}

function running(child) {
  return child.exitCode === null && child.signalCode === null
}

function killGroup(child) {
  if (!running(child) || child.pid === undefined) return
  try {
    // detached: the child leads its own process group, which holds whatever it forked.
    process.kill(-child.pid, 'SIGKILL')
  } catch {
    child.kill('SIGKILL')
  }
}

/** Relays one output stream, pausing it while the channel is behind, so nothing piles up here. */
function relay(id, fd, stream) {
  let inFlight = 0
  stream.on('data', (chunk) => {
    inFlight += chunk.length
    if (inFlight > MAX_IN_FLIGHT) stream.pause()
    send({ type: 'data', id, fd, chunk }, () => {
      inFlight -= chunk.length
      if (inFlight <= MAX_IN_FLIGHT && stream.isPaused()) stream.resume()
    })
  })
  stream.on('error', () => {})
}

function start({ id, command, args, cwd, env }) {
  const child = spawn(command, args, { cwd, env, detached: true, stdio: ['pipe', 'pipe', 'pipe', 'pipe'] })
  children.set(id, child)
  child.on('error', (error) => {
    // Only a child that never started reports its failure this way; others end in 'close'.
    if (child.pid !== undefined) return
    children.delete(id)
    send({ type: 'failed', id, message: error.message })
  })
  if (child.pid === undefined) return
  send({ type: 'spawned', id, pid: child.pid })
  child.stdin.on('error', () => {})
  for (const fd of [1, 2, 3]) relay(id, fd, child.stdio[fd])
  child.on('exit', (code, signal) => send({ type: 'exit', id, code, signal }))
  child.on('close', (code, signal) => {
    children.delete(id)
    send({ type: 'close', id, code, signal })
  })
}

process.on('message', (message) => {
  if (message.type === 'spawn') return start(message)
  const child = children.get(message.id)
  if (!child) return
  if (message.type === 'write') child.stdin.write(message.data)
  else if (message.type === 'kill') killGroup(child)
})

process.on('disconnect', () => {
  for (const child of children.values()) killGroup(child)
  process.exit(0)
})
