import { readFileSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createSandboxPool } from '../../server/src/sandbox/index'
import { eventually, failure, job, launcherChildren } from './helpers'

// Python jobs of a namespaced pool are forks of one zygote per memory cap: these check that
// each fork is as walled off from the others, and from the zygote, as a sandbox of its own.
const pool = createSandboxPool({ warm: 1 })
afterAll(() => pool.stop())

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Host pids whose command name (prctl PR_SET_NAME, what a job can set itself) is `name`. */
function pidsNamed(name: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        const state = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.[0]
        return readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === name && state !== 'Z'
      } catch {
        return false
      }
    })
    .map(Number)
}

/** This test process's zygotes: the Python processes right under a bwrap whose command line names zygote.py. */
function zygotePids(): number[] {
  const mine = `switchyard-sandbox-${process.pid}-`
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8')
        const ppid = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]
        const parent = readFileSync(`/proc/${ppid}/cmdline`, 'utf8')
        const isBwrap = (line: string) => /bwrap/.test(line.split('\0')[0] ?? '')
        return /zygote\.py/.test(cmdline) && cmdline.includes(mine) && !isBwrap(cmdline) && isBwrap(parent)
      } catch {
        return false
      }
    })
    .map(Number)
}

const NAME = `import ctypes\nctypes.CDLL(None).prctl(15, NAME.encode(), 0, 0, 0)\n`

// What one job leaves for the next to find: processes, files, a listener, an abstract socket, shared memory.
const PLANT = `import os, socket, time
open("cwd-marker", "w").write("job A")
try:
    open("/tmp/tmp-marker", "w").write("job A")
except OSError:
    pass
tcp = socket.socket()
tcp.bind(("127.0.0.1", 4000))
tcp.listen()
abstract = socket.socket(socket.AF_UNIX)
abstract.bind("\\0switchyard-zygote-test")
abstract.listen()
import ctypes
shm = ctypes.CDLL(None).shmget(0x5a59, 4096, 0o1600)  # a System V segment, IPC_CREAT | 0600
child = os.fork()
if child == 0:
    NAME = "zy-left-behind"
${NAME.replace(/^/gm, '    ')}
    time.sleep(600)
set_output("pids", [os.getpid(), child])
set_output("shm", shm)
set_output("cwd", os.getcwd())
time.sleep(float(params["hold"]))
`

const LOOK = `import os, socket
def refused(family, address):
    s = socket.socket(family)
    try:
        s.connect(address)
        return False
    except OSError:
        return True
# Processes, not the runner's own threads (whose ids share the numbering): pidfd_open refuses a thread.
others = []
for pid in range(2, 300):
    try:
        os.close(os.pidfd_open(pid))
        others.append(pid)
    except OSError:
        pass
set_output("pid", os.getpid())
set_output("others", others)
set_output("cwd", os.getcwd())
set_output("own_files", os.listdir("."))
set_output("cwd_marker", os.path.exists(params["cwd"] + "/cwd-marker"))
set_output("tmp_marker", os.path.exists("/tmp/tmp-marker"))
set_output("tcp_refused", refused(socket.AF_INET, ("127.0.0.1", 4000)))
set_output("abstract_refused", refused(socket.AF_UNIX, "\\0switchyard-zygote-test"))
import ctypes
set_output("shm_seen", ctypes.CDLL(None).shmget(0x5a59, 0, 0) != -1)
`

const apart = {
  pid: 1,
  others: [],
  own_files: [],
  cwd_marker: false,
  tmp_marker: false,
  tcp_refused: true,
  abstract_refused: true,
  shm_seen: false,
}

describe('Python jobs forked by one zygote', () => {
  it('one after another: nothing of the first job (processes, files, listeners) is there for the next', async () => {
    const first = await pool.run(job('python', PLANT, { args: { params: { hold: 0 } } }))
    expect((first.outputs.pids as number[])[0]).toBe(1)
    expect(first.outputs.shm).toBeGreaterThanOrEqual(0)
    // The first job's leftover child died with the job's pid namespace.
    await eventually(() => pidsNamed('zy-left-behind').length === 0, 'the left-behind child to die')
    const next = await pool.run(job('python', LOOK, { args: { params: { cwd: first.outputs.cwd } } }))
    expect(next.outputs).toMatchObject(apart)
    expect(next.outputs.cwd).not.toBe(first.outputs.cwd)
  })

  it('at the same time: neither sees the other', async () => {
    const holding = pool.run(job('python', PLANT, { args: { params: { hold: 2 } } }))
    // The planting job is up once its child has renamed itself.
    await eventually(() => pidsNamed('zy-left-behind').length === 1, 'the first job to be running')
    const look = await pool.run(job('python', LOOK, { args: { params: { cwd: '/nonexistent' } } }))
    expect(look.outputs).toMatchObject(apart)
    expect(pidsNamed('zy-left-behind')).toHaveLength(1)
    const first = await holding
    expect((first.outputs.pids as number[])[0]).toBe(1)
    await eventually(() => pidsNamed('zy-left-behind').length === 0, 'the left-behind child to die')
  })

  it("cannot see, signal or read the zygote, nor reach the job socket or another job's stream", async () => {
    const [socketPath] = readdirSync(tmpdir())
      .filter((name) => name.startsWith(`switchyard-sandbox-${process.pid}-`))
      .map((name) => join(tmpdir(), name, 'jobs.sock'))
      .filter((path) => {
        try {
          readFileSync(path)
          return false
        } catch (err) {
          // A socket cannot be read as a file: ENXIO says it is one.
          return (err as NodeJS.ErrnoException).code === 'ENXIO'
        }
      })
    expect(socketPath).toBeDefined()
    const secret = "the other job's secret argument"
    const victim = pool.run(
      job('python', 'import time\ntime.sleep(1.5)\nset_output("secret", params["secret"])', {
        args: { params: { secret } },
      }),
    )
    await sleep(300)
    const probe = `import os, socket
def attempt(action):
    try:
        action()
        return "done"
    except OSError as err:
        return type(err).__name__
# The zygote is pid 2 of bwrap's namespace; here only the job's own are (its threads included).
visible = []
for pid in range(1, 300):
    try:
        os.close(os.pidfd_open(pid))
        visible.append(pid)
    except OSError:
        pass
set_output("visible", visible)
set_output("proc", attempt(lambda: os.listdir("/proc")))
set_output("socket_seen", os.path.exists(params["socket"]))
s = socket.socket(socket.AF_UNIX)
set_output("connect", attempt(lambda: s.connect(params["socket"])))
set_output("fds", sorted(int(fd) for fd in range(0, 64) if attempt(lambda: os.fstat(fd)) == "done"))
`
    const { outputs } = await pool.run(job('python', probe, { args: { params: { socket: socketPath } } }))
    expect(outputs.visible).toEqual([1])
    expect(outputs.proc).not.toBe('done')
    expect(outputs.socket_seen).toBe(false)
    expect(outputs.connect).not.toBe('done')
    // stdin, stdout, stderr and the channel (its own sockets), then what the runner opened
    // itself (its /dev/null stdin, the forwarder's listener): none of the zygote's pipes.
    expect(outputs.fds).toEqual([0, 1, 2, 3, 4, 5])
    expect((await victim).outputs).toEqual({ secret })
    expect(zygotePids()).toHaveLength(1)
  })

  it("finds nothing of another job's code or arguments in what it inherited from the zygote", async () => {
    const secret = `secret-${Math.random().toString(36).slice(2)}`
    const victim = pool.run(
      job('python', `import time\nSECRET_CODE = "${secret}-code"\ntime.sleep(1.5)`, {
        args: { params: { secret } },
      }),
    )
    await sleep(300)
    // What its process holds that Python reaches: the frames it was forked in and every tracked
    // container. The needle is put together here, so that only it holds the whole string.
    const search = `import gc, sys
needle = params["head"] + params["tail"]
def hit(value):
    return isinstance(value, str) and value is not needle and needle in value
found = []
frame = sys._getframe()
while frame is not None:
    found += ["frame " + frame.f_code.co_name for value in list(frame.f_locals.values()) if hit(value)]
    frame = frame.f_back
for obj in gc.get_objects():
    members = obj.values() if isinstance(obj, dict) else obj if isinstance(obj, (list, tuple, set)) else ()
    found += ["object " + type(obj).__name__ for value in list(members) if hit(value)]
set_output("found", found)
`
    const [head, tail] = [secret.slice(0, 9), secret.slice(9)]
    const { outputs } = await pool.run(job('python', search, { args: { params: { head, tail } } }))
    expect(outputs.found).toEqual([])
    await victim
  })

  it('cannot undo the mounts that hide the zygote, even from a user namespace of its own', async () => {
    const code = `import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
def call(name, *args):
    return 0 if getattr(libc, name)(*args) == 0 else ctypes.get_errno()
set_output("here", [call("umount2", path, 2) for path in (b"/proc", b"/tmp", b".")])
r, w = os.pipe()
if os.fork() == 0:
    # A single-threaded child may make a user namespace, and has every capability in it.
    result = [call("unshare", 0x10000000 | 0x00020000)]
    result += [call("umount2", path, 2) for path in (b"/proc", b"/tmp", b".")]
    result.append(call("mount", b"tmpfs", b".", b"tmpfs", 0, None))
    os.write(w, repr(result).encode())
    os._exit(0)
os.close(w)
set_output("nested", eval(os.read(r, 1000).decode()))
`
    const { outputs } = await pool.run(job('python', code))
    // No capabilities: EPERM.
    expect(outputs.here).toEqual([1, 1, 1])
    // In a new user namespace the mounts it inherited are locked (EINVAL), and Landlock refuses new ones.
    expect(outputs.nested).toEqual([0, 22, 22, 22, 1])
  })

  it('a job whose code tries to forge the channel only reaches its own stream', async () => {
    const forge = pool.run(
      job(
        'python',
        'import os, time\nfor fd in range(0, 64):\n    try:\n        os.write(fd, b\'{"type":"done","outputs":{"forged":true}}\\n\')\n    except OSError:\n        pass\ntime.sleep(0.5)\nset_output("mine", True)',
      ),
    )
    const other = pool.run(job('python', 'import time\ntime.sleep(1)\nset_output("honest", True)'))
    const [forged, honest] = await Promise.all([forge, other])
    // Its own fd 3 ended its own run (the channel is the job's to say what it likes on).
    expect(forged.outputs).toEqual({ forged: true })
    expect(honest.outputs).toEqual({ honest: true })
  })

  it('times out, killing the job and everything it started', async () => {
    // The job's pid 1 clears the pdeathsig that ties it to the process between it and the
    // zygote, and disarms the runner's exit when the server closes its stdin.
    const code = `import ctypes, os, time\nif os.fork() == 0:\n    NAME = "zy-timeout"\n${NAME.replace(/^/gm, '    ')}\n    os.setsid()\n    time.sleep(600)\nctypes.CDLL(None).prctl(1, 0, 0, 0, 0)\nos._exit = lambda code: None\nNAME = "zy-timeout-1"\n${NAME}while True:\n    pass`
    await failure(pool, job('python', code, { timeoutMs: 1000 }), 'TIMEOUT')
    await eventually(
      () => pidsNamed('zy-timeout').length + pidsNamed('zy-timeout-1').length === 0,
      'the timed-out job to be gone',
    )
  })

  it('holds the memory cap: the address space limit, and the watchdog on the job (not the zygote)', async () => {
    const capped = await failure(
      pool,
      job('python', 'x = bytearray(2 * 1024 * 1024 * 1024)', { memoryMb: 64 }),
      'MEMORY',
    )
    expect(capped.message).toMatch(/MemoryError/)
    // Under the address space cap, over the resident one (2 × 64 + 128 MB): only the watchdog sees it.
    const resident = await failure(
      pool,
      job('python', 'import time\nx = b"x" * (400 * 1024 * 1024)\ntime.sleep(10)', { memoryMb: 64 }),
      'MEMORY',
    )
    expect(resident.message).toMatch(/the script used \d+ MB of memory/)
  })

  it('a zygote killed mid-job fails that job clearly; the next job gets a new zygote', async () => {
    const running = pool.run(job('python', 'import time\ntime.sleep(5)', { memoryMb: 96 }))
    await eventually(() => zygotePids().length >= 2, 'a zygote for the 96 MB cap')
    await sleep(300)
    const before = new Set(zygotePids())
    // The zygote of the 96 MB cap is the newest one.
    const victim = Math.max(...before)
    process.kill(victim, 'SIGKILL')
    const crashed = await running.then(
      () => undefined,
      (e: Error) => e,
    )
    expect(crashed?.message).toMatch(/zygote this job was forked from died/)
    const after = await pool.run(job('python', 'set_output("ok", True)', { memoryMb: 96 }))
    expect(after.outputs).toEqual({ ok: true })
    expect(zygotePids()).not.toContain(victim)
  })

  it('a stopped pool leaves no zygote, job or launcher behind', async () => {
    const zygotesBefore = zygotePids()
    const launchersBefore = launcherChildren()
    const own = createSandboxPool({ warm: 2 })
    const left = own.run(job('python', `NAME = "zy-stopped"\n${NAME}import time\ntime.sleep(30)`)).then(
      () => 'done',
      (e: Error) => e.message,
    )
    await eventually(
      () => pidsNamed('zy-stopped').length === 1 && own.stats.warm >= 1,
      'a busy job and a warm one',
    )
    // Compared as sets: the shared pool's zygotes may idle out meanwhile on a slow machine (warmIdleMs).
    const ownZygotes = zygotePids().filter((pid) => !zygotesBefore.includes(pid))
    expect(ownZygotes).toHaveLength(1)
    await own.stop()
    expect(await left).toMatch(/stopped/)
    expect(pidsNamed('zy-stopped')).toEqual([])
    expect(zygotePids().filter((pid) => !zygotesBefore.includes(pid))).toEqual([])
    expect(launcherChildren().filter((pid) => !launchersBefore.includes(pid))).toEqual([])
  })
})
