#!/usr/bin/env node
// The commands of the README (`npm start`, `npm test`, …) land here. It needs
// only Node and npm: it installs the workspace with pnpm (fetched through npx,
// pinned by package.json's packageManager) when node_modules is missing or stale,
// builds what the command needs (the embed file, the dashboard, the server into
// server/dist), then runs it.
//
// Each preparation phase prints one progress line; its own output (pnpm, vite) is
// kept and shown only when the phase fails, so a first start reads as a few lines
// and then the server's own log.
import { spawn, spawnSync } from 'node:child_process'
import { accessSync, constants, existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SERVER_NODE_FLAGS } from './node-flags.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const pnpmSpec = pkg.packageManager // e.g. pnpm@10.34.9
const command = process.argv[2]
const rest = process.argv.slice(3)

/** Runs a command in the foreground (the server, the test runner): its output is the point. */
function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, {
    stdio: 'inherit',
    cwd: root,
    ...opts,
    env: { ...process.env, ...opts.env },
  })
  if (r.error) throw r.error
  if (r.status !== 0) process.exit(r.status ?? 1)
}

/**
 * Runs the server in the foreground and exits with its code. Ctrl-C reaches the server
 * straight from the terminal (same process group), so SIGINT is not passed on again (the
 * server takes a second signal as "force"); a SIGTERM sent to this process alone (a
 * process manager, a test) is passed on, and this process waits for the server's drain.
 */
function serve(args, opts) {
  const child = spawn(process.execPath, args, {
    stdio: 'inherit',
    ...opts,
    env: { ...process.env, ...opts.env },
  })
  process.on('SIGINT', () => {})
  process.on('SIGTERM', () => child.kill('SIGTERM'))
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
}

/**
 * One preparation phase: a single line (`switchyard: building the dashboard… done in 9.8 s`),
 * the commands' output held back and printed whole if one of them fails.
 */
function phase(label, steps) {
  process.stdout.write(`switchyard: ${label}… `)
  const started = Date.now()
  for (const [cmd, args, opts = {}] of steps) {
    const r = spawnSync(cmd, args, {
      cwd: root,
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...opts,
      env: { ...process.env, ...opts.env },
    })
    if (r.error || r.status !== 0) {
      process.stdout.write('failed\n')
      if (r.stdout) process.stdout.write(r.stdout)
      if (r.stderr) process.stderr.write(r.stderr)
      console.error(
        `switchyard: ${label} failed: ${r.error?.message ?? `${cmd} ${args.join(' ')} exited with ${r.status}`}`,
      )
      process.exit(r.status || 1)
    }
  }
  process.stdout.write(`done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`)
}

const pnpm = (args, opts) => ['npx', ['-y', pnpmSpec, ...args], opts]

function installIfNeeded() {
  const marker = join(root, 'node_modules', '.modules.yaml')
  const lock = join(root, 'pnpm-lock.yaml')
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return
  phase('installing dependencies (first run)', [pnpm(['install', '--frozen-lockfile', '--prefer-offline'])])
}

function buildIfNeeded({ force = false, web = true } = {}) {
  const steps = []
  const embed = join(root, 'embed', 'dist', 'run-button.js')
  if (existsSync(join(root, 'embed', 'build.mjs')) && (force || !existsSync(embed))) {
    steps.push(pnpm(['--filter', '@switchyard/embed', 'run', 'build']))
  }
  const handler = join(root, 'web', 'build', 'handler.js')
  if (web && existsSync(join(root, 'web', 'svelte.config.js')) && (force || !existsSync(handler))) {
    // A production build whatever NODE_ENV the caller has (vitest sets "test").
    steps.push(pnpm(['--filter', '@switchyard/web', 'run', 'build'], { env: { NODE_ENV: 'production' } }))
  }
  if (steps.length > 0) phase('building the dashboard and the run button', steps)
}

/** Newest modification time under dir (the server's sources). */
function newest(dir) {
  let t = 0
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) t = Math.max(t, statSync(join(e.parentPath ?? e.path, e.name)).mtimeMs)
  }
  return t
}

const serverMain = join(root, 'server', 'dist', 'main.js')

/** The server as plain JavaScript (server/dist), rebuilt when a source is newer than the build. */
function buildServerIfNeeded(force = false) {
  const stale = !existsSync(serverMain) || statSync(serverMain).mtimeMs < newest(join(root, 'server', 'src'))
  if (force || stale)
    phase('building the server', [[process.execPath, [join(root, 'server', 'bin', 'build-server.mjs')]]])
}

/** The roles `npm start` was asked for (`--role worker`, `--role=api`, or SWITCHYARD_ROLES). */
function rolesOf(args) {
  const i = args.findIndex((a) => a === '--role' || a.startsWith('--role='))
  const raw =
    i < 0 ? process.env.SWITCHYARD_ROLES : args[i].includes('=') ? args[i].split('=')[1] : args[i + 1]
  return !raw || raw === 'all' ? ['api', 'worker', 'scheduler'] : raw.split(',').map((r) => r.trim())
}

function executable(path) {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']

/**
 * The browser suites drive a real Chromium. Found (CHROMIUM_PATH or a system one), it is
 * passed on as CHROMIUM_PATH; missing on a Debian-like machine where we are root, Debian's
 * `chromium` is installed; otherwise the run stops here with one line instead of failing
 * every browser test.
 */
function ensureChromium() {
  if (process.env.CHROMIUM_PATH) {
    if (executable(process.env.CHROMIUM_PATH)) return process.env.CHROMIUM_PATH
    console.error(`switchyard: CHROMIUM_PATH=${process.env.CHROMIUM_PATH} is not an executable file`)
    process.exit(1)
  }
  const found = CHROMIUM_CANDIDATES.find(executable)
  if (found) return found
  if (process.getuid?.() === 0 && executable('/usr/bin/apt-get')) {
    const env = { DEBIAN_FRONTEND: 'noninteractive' }
    phase("installing Debian's chromium for the browser suites", [
      ['apt-get', ['update', '-qq'], { env }],
      ['apt-get', ['install', '-y', '-qq', 'chromium'], { env }],
    ])
    const installed = CHROMIUM_CANDIDATES.find(executable)
    if (installed) return installed
  }
  console.error(
    'switchyard: the browser suites need Chromium: install it (Debian/Ubuntu: `sudo apt-get install chromium`) or set CHROMIUM_PATH to a Chromium or Chrome binary',
  )
  process.exit(1)
}

installIfNeeded()
const tsx = ['--import', 'tsx']
switch (command) {
  case 'start': {
    // A worker or scheduler node serves no pages: it needs no dashboard build.
    buildIfNeeded({ web: rolesOf(rest).includes('api') })
    buildServerIfNeeded()
    // The server runs from server/, but its data stays at the top: ./.switchyard
    serve([...SERVER_NODE_FLAGS, serverMain, ...rest], {
      cwd: join(root, 'server'),
      env: { SWITCHYARD_DATA_DIR: process.env.SWITCHYARD_DATA_DIR ?? join(root, '.switchyard') },
    })
    break
  }
  case 'reset-password':
    run(process.execPath, [...tsx, 'src/cli/reset-password.ts', ...rest], {
      cwd: join(root, 'server'),
      env: { SWITCHYARD_DATA_DIR: process.env.SWITCHYARD_DATA_DIR ?? join(root, '.switchyard') },
    })
    break
  case 'build':
    buildIfNeeded({ force: true })
    buildServerIfNeeded(true)
    break
  case 'test': {
    const chromium = ensureChromium()
    buildIfNeeded({ force: true })
    run(
      ...pnpm(['--filter', '@switchyard/test', 'exec', 'vitest', 'run', ...rest], {
        env: { CHROMIUM_PATH: chromium },
      }),
    )
    break
  }
  case 'bench':
    run(...pnpm(['--filter', '@switchyard/test', 'exec', 'tsx', 'bench/run.ts', ...rest]))
    break
  case 'check':
    run(join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'])
    run(join(root, 'node_modules', '.bin', 'biome'), ['check', '.'])
    break
  default:
    console.error('usage: bootstrap.mjs start|test|bench|check|build|reset-password')
    process.exit(2)
}
