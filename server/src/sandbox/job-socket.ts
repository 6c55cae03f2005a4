import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { type Socket, createServer } from 'node:net'
import { join } from 'node:path'
import type { RelayedStream } from './launch'

/** The streams of one zygote job, as the server sees them (see zygote.py for the handshake). */
export interface JobStreams {
  readonly token: string
  readonly stdout: RelayedStream
  readonly stderr: RelayedStream
  /** fd 3, the runner's channel. */
  readonly channel: RelayedStream
  /** To the job's stdin; held back until it has connected. */
  write(data: string): void
  /** The job is gone: no more connections for its token; settles once what it sent has arrived. */
  close(): Promise<void>
  /** A line of the server's own on the job's stderr (why it ended, when the job could not say). */
  note(line: string): void
  /** The job has connected its stdin and channel. */
  readonly connected: boolean
}

/** The unix socket every zygote job connects to, in a dir of its own that only zygote sandboxes mount. */
export interface JobSocket {
  readonly path: string
  /** Registers a new job under a fresh random token, which only its zygote is told. */
  expect(): JobStreams
  close(): Promise<void>
}

const STREAMS = ['io', 'stdout', 'stderr'] as const
type StreamName = (typeof STREAMS)[number]
const MAX_HANDSHAKE_BYTES = 128
const HANDSHAKE_TIMEOUT_MS = 10_000
/** After the job's exit, how long its sockets may take to deliver what is left before they are cut. */
const DRAIN_MS = 2_000

interface Expected {
  take(name: StreamName, socket: Socket, rest: Buffer): boolean
}

/**
 * Listens on `dir`/jobs.sock. A connection says `<token> <stream>\n` first; one that names no
 * live job, or a stream of it already taken, is closed at once. Tokens are 256 random bits,
 * so a guess never lands.
 */
export async function listenForJobs(dir: string): Promise<JobSocket> {
  const path = join(dir, 'jobs.sock')
  const expected = new Map<string, Expected>()
  const open = new Set<Socket>()
  const server = createServer((socket) => {
    open.add(socket)
    socket.on('close', () => open.delete(socket))
    socket.on('error', () => {})
    let header = Buffer.alloc(0)
    const timer = setTimeout(() => socket.destroy(), HANDSHAKE_TIMEOUT_MS).unref()
    const onData = (chunk: Buffer) => {
      header = Buffer.concat([header, chunk])
      const newline = header.indexOf(10)
      if (newline === -1) {
        if (header.length > MAX_HANDSHAKE_BYTES) socket.destroy()
        return
      }
      socket.off('data', onData)
      clearTimeout(timer)
      const [token = '', name = ''] = header.subarray(0, newline).toString().split(' ')
      const entry = expected.get(token)
      const stream = STREAMS.find((s) => s === name)
      if (!entry || !stream || !entry.take(stream, socket, header.subarray(newline + 1))) socket.destroy()
    }
    socket.on('data', onData)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(path, () => resolve())
  })

  return {
    path,
    expect() {
      const token = randomBytes(32).toString('hex')
      const emitters = { io: new EventEmitter(), stdout: new EventEmitter(), stderr: new EventEmitter() }
      const sockets = new Map<StreamName, Socket>()
      const ended = new Set<StreamName>()
      let queued = ''
      const end = (name: StreamName) => {
        if (ended.has(name)) return
        ended.add(name)
        emitters[name].emit('end')
      }
      expected.set(token, {
        take(name, socket, rest) {
          if (sockets.has(name) || ended.has(name)) return false
          sockets.set(name, socket)
          if (rest.length > 0) emitters[name].emit('data', rest)
          socket.on('data', (chunk: Buffer) => emitters[name].emit('data', chunk))
          socket.on('close', () => end(name))
          if (name === 'io' && queued !== '') {
            socket.write(queued)
            queued = ''
          }
          return true
        },
      })
      return {
        token,
        stdout: emitters.stdout,
        stderr: emitters.stderr,
        channel: emitters.io,
        write(data) {
          const io = sockets.get('io')
          if (io) io.write(data)
          else queued += data
        },
        note(line) {
          emitters.stderr.emit('data', Buffer.from(`${line}\n`))
        },
        get connected() {
          return sockets.has('io')
        },
        async close() {
          expected.delete(token)
          for (const name of STREAMS) if (!sockets.has(name)) end(name)
          const live = [...sockets].filter(([name]) => !ended.has(name))
          const cut = setTimeout(() => {
            for (const [, socket] of live) socket.destroy()
          }, DRAIN_MS)
          await Promise.all(
            live.map(
              ([name]) =>
                new Promise<void>((resolve) => {
                  if (ended.has(name)) resolve()
                  else emitters[name].once('end', () => resolve())
                }),
            ),
          )
          clearTimeout(cut)
        },
      }
    },
    async close() {
      for (const socket of open) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
