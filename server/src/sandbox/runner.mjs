// The Node side of the script sandbox: one process runs exactly one job, then dies.
// The pool starts this file with the permission model on (no file access outside its
// temp dir, no child processes, no workers), so it is plain JavaScript that needs no
// loader and imports only built-ins. It reads its job as one JSON line on stdin and
// answers in JSON lines on fd 3 (log, done, failed), like the Python runner.
import { Buffer } from 'node:buffer'
import dgram from 'node:dgram'
import dns from 'node:dns'
import { syncBuiltinESMExports } from 'node:module'
import net from 'node:net'
import os from 'node:os'
import { formatWithOptions } from 'node:util'
import vm from 'node:vm'

// Keep in sync with limits.ts: the parent enforces the same caps again.
const MAX_LINE_BYTES = 10 * 1024
const MAX_OUTPUT_BYTES = 1024 * 1024
const FILENAME = 'user-script'

// Taken before user code runs, which could overwrite process.exit; the channel it cannot reach.
const exit = process.exit.bind(process)
const channel = new net.Socket({ fd: 3, readable: false, writable: true })
const send = (message, done) => channel.write(`${JSON.stringify(message)}\n`, done)

// The permission model of Node 20 does not cover signals: without this, a script could
// kill the server, or send it SIGUSR1 through _debugProcess, which opens its inspector.
for (const name of ['kill', '_kill', '_debugProcess', '_debugEnd']) {
  Object.defineProperty(process, name, {
    value: () => {
      throw new Error(`process.${name} is not available in the script sandbox`)
    },
    writable: false,
    configurable: false,
  })
}
// Nor does it cover priorities: renicing the server would slow every run on the host.
const setPriority = os.setPriority
os.setPriority = (pid, priority) => {
  if (priority === undefined) return setPriority(pid)
  if (pid !== 0 && pid !== process.pid) throw new Error('os.setPriority of another process is not available')
  return setPriority(pid, priority)
}

// In a network namespace the only way out is the server's egress proxy, on a unix socket
// mounted in; HTTP clients expect a TCP proxy, so this forwards a loopback port to it. Any
// code in here may use the socket directly too: the proxy, outside, is what decides.
function forwardProxy(socketPath, proxyUrl) {
  const port = Number(new URL(proxyUrl).port)
  const server = net.createServer((client) => {
    const upstream = net.connect(socketPath)
    client.on('error', () => upstream.destroy())
    upstream.on('error', () => client.destroy())
    client.pipe(upstream).pipe(client)
  })
  server.unref()
  return new Promise((resolve) => server.listen(port, '127.0.0.1', resolve))
}

// Without namespaces and without the admin's opt-in, scripts get no network. Node 20's
// permission model does not cover sockets, and it keeps process.binding out of reach, so
// closing the public entry points (every TCP, TLS, HTTP and fetch connection goes through
// net.Socket#connect) leaves user code no way to open one.
function closeNetwork() {
  const refuse = (what) => () => {
    throw new Error(
      `${what}: scripts have no network on this server (no network namespace; an admin can set SWITCHYARD_SCRIPT_DIRECT_NETWORK=true)`,
    )
  }
  const seal = (target, name, what) =>
    Object.defineProperty(target, name, { value: refuse(what), writable: false, configurable: false })
  seal(net.Socket.prototype, 'connect', 'connect')
  for (const name of ['send', 'connect', 'bind']) seal(dgram.Socket.prototype, name, `udp ${name}`)
  for (const name of [
    'lookup',
    'lookupService',
    'resolve',
    'resolve4',
    'resolve6',
    'resolveAny',
    'resolveTxt',
  ]) {
    seal(dns, name, `dns.${name}`)
    seal(dns.promises, name, `dns.${name}`)
  }
  seal(dns.Resolver.prototype, 'resolve', 'dns resolve')
  seal(dns.promises.Resolver.prototype, 'resolve', 'dns resolve')
}

// Node 20's fetch ignores HTTP_PROXY: on first use, point its global dispatcher at the proxy
// with undici's ProxyAgent (the server's copy, which this process may read), so a script's
// plain fetch() goes out through the egress proxy like everything else.
function fetchThroughProxy(proxyUrl, undiciPath) {
  const direct = globalThis.fetch
  let installing
  globalThis.fetch = async (...args) => {
    installing ??= import(undiciPath).then(({ ProxyAgent, setGlobalDispatcher }) =>
      setGlobalDispatcher(new ProxyAgent(proxyUrl)),
    )
    await installing
    return direct(...args)
  }
}

if (process.env.SWITCHYARD_EGRESS_SOCKET && process.env.SWITCHYARD_UNDICI) {
  fetchThroughProxy(process.env.SWITCHYARD_EGRESS_PROXY, process.env.SWITCHYARD_UNDICI)
}
const network = process.env.SWITCHYARD_EGRESS_SOCKET
  ? forwardProxy(process.env.SWITCHYARD_EGRESS_SOCKET, process.env.SWITCHYARD_EGRESS_PROXY)
  : Promise.resolve()
if (process.env.SWITCHYARD_NO_NETWORK === '1') closeNetwork()
syncBuiltinESMExports()

let finished = false

/** Sends the one final message; the parent kills the process on receipt. */
function finish(message) {
  if (finished) return
  finished = true
  send(message, () => exit(0))
}

function truncate(text) {
  const bytes = Buffer.byteLength(text)
  if (bytes <= MAX_LINE_BYTES) return text
  const suffix = ` … [truncated, ${bytes} bytes]`
  return (
    Buffer.from(text)
      .subarray(0, MAX_LINE_BYTES - Buffer.byteLength(suffix))
      .toString() + suffix
  )
}

function emit(level, values) {
  if (finished) return
  const text = formatWithOptions(
    { colors: false, depth: 6, breakLength: Number.POSITIVE_INFINITY },
    ...values,
  )
  send({ type: 'log', level, message: truncate(text) })
}

const log = (...values) => emit('INFO', values)
log.info = log
log.debug = (...values) => emit('DEBUG', values)
log.warn = (...values) => emit('WARN', values)
log.error = (...values) => emit('ERROR', values)

// Library code calls the global console, not the one handed to the script: route both.
const routed = { log, info: log, debug: log.debug, trace: log.debug, warn: log.warn, error: log.error }
Object.assign(globalThis.console, routed)

const outputs = {}
const outputSizes = new Map()

function setOutput(key, value) {
  if (typeof key !== 'string' || key === '') {
    throw new TypeError('setOutput(key, value): key must be a non-empty string')
  }
  let json
  try {
    json = JSON.stringify(value)
  } catch (err) {
    throw new TypeError(`setOutput("${key}"): the value is not JSON-serialisable (${err.message})`)
  }
  if (json === undefined) {
    delete outputs[key]
    outputSizes.delete(key)
    return
  }
  const previous = outputSizes.get(key)
  outputSizes.set(key, Buffer.byteLength(key) + Buffer.byteLength(json))
  let total = 0
  for (const size of outputSizes.values()) total += size
  if (total > MAX_OUTPUT_BYTES) {
    if (previous === undefined) outputSizes.delete(key)
    else outputSizes.set(key, previous)
    throw new RangeError(
      `outputs are limited to 1 MB in total; setOutput("${key}") would bring them to ${total} bytes. ` +
        'Write large results to a storage and output a reference instead',
    )
  }
  // Stored as parsed JSON so the script cannot change the value after the call.
  outputs[key] = JSON.parse(json)
}

class ScriptFailure extends Error {}

function fail(message) {
  const failure = new ScriptFailure(message === undefined ? 'the script called fail()' : String(message))
  finish({ type: 'failed', message: failure.message })
  // Throwing stops the script where it stands; a catch in user code cannot undo finish().
  throw failure
}

/** Where the error happened in the code we were sent (the parent maps it to the user's lines). */
function locate(err) {
  const stack = typeof err?.stack === 'string' ? err.stack : ''
  const frame = stack.match(new RegExp(`${FILENAME}:(\\d+):(\\d+)`))
  if (frame) return { line: Number(frame[1]), column: Number(frame[2]) }
  // A compile error has no frame; Node prefixes its stack with "file:line", the source line and a caret.
  const header = stack.match(new RegExp(`^${FILENAME}:(\\d+)\\n.*\\n([ \\t]*)\\^`))
  if (header) return { line: Number(header[1]), column: header[2].length + 1 }
  return {}
}

function failed(err) {
  if (err instanceof ScriptFailure) return { type: 'failed', message: err.message }
  if (err instanceof Error) {
    const memory = err instanceof RangeError && /allocation failed|Array buffer allocation/i.test(err.message)
    return {
      type: 'failed',
      message: `${err.name}: ${err.message}`,
      ...locate(err),
      ...(memory ? { memory } : {}),
    }
  }
  return { type: 'failed', message: `the script threw ${formatWithOptions({ colors: false }, err)}` }
}

process.on('uncaughtException', (err) => finish(failed(err)))
process.on('unhandledRejection', (err) => finish(failed(err)))

async function runJob(job) {
  let fn
  try {
    const script = new vm.Script(job.source, {
      filename: FILENAME,
      // Lets `await import('node:crypto')` work; the permission model still guards files.
      importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    })
    fn = script.runInThisContext()
  } catch (err) {
    finish(failed(err))
    return
  }
  const { params, variables, triggered_by_user, run } = job.args
  const returned = await fn(params, variables, triggered_by_user, run, log, setOutput, fail, routed)
  if (returned !== undefined && returned !== null) {
    if (typeof returned !== 'object' || Array.isArray(returned)) {
      throw new TypeError(`the script returned ${typeof returned}; return an object of outputs, or nothing`)
    }
    for (const [key, value] of Object.entries(returned)) setOutput(key, value)
  }
  finish({ type: 'done', outputs })
}

let input = ''
let started = false
process.stdin.setEncoding('utf8')
process.stdin.on('data', (chunk) => {
  if (started) return
  input += chunk
  const newline = input.indexOf('\n')
  if (newline < 0) return
  started = true
  let job
  try {
    job = JSON.parse(input.slice(0, newline))
  } catch {}
  input = ''
  if (job?.type !== 'job' || typeof job.source !== 'string') {
    finish({ type: 'failed', message: 'the sandbox received an invalid job' })
    return
  }
  network.then(() => runJob(job)).catch((err) => finish(failed(err)))
})
// The parent keeps stdin open; its end means the server is gone, and so must we be.
process.stdin.on('end', () => exit(1))

// Tells the pool this process is booted (the forwarder listening), so it is preferred over one still starting.
network.then(() => send({ type: 'ready' }))
