import { describe, expect, it } from 'vitest'
import { iterateLatest, renderEach } from '../../server/src/events/iterate'

type E = { run: string; state: string }

function source() {
  let push: (e: E) => void = () => {}
  let unsubscribed = false
  const subscribe = (p: (e: E) => void) => {
    push = p
    return () => {
      unsubscribed = true
    }
  }
  return { subscribe, push: (e: E) => push(e), unsubscribed: () => unsubscribed }
}

describe('iterateLatest (subscriber queues)', () => {
  it('delivers every event in order while the subscriber keeps up', async () => {
    const src = source()
    const it = iterateLatest<E>(src.subscribe, (e) => e.run, { softLimit: 10 })
    for (const state of ['QUEUED', 'RUNNING', 'SUCCEEDED']) src.push({ run: '1', state })
    const got = [await it.next(), await it.next(), await it.next()].map((r) => r.value?.state)
    expect(got).toEqual(['QUEUED', 'RUNNING', 'SUCCEEDED'])
  })

  it('coalesces a slow subscriber to the latest state per run, never losing a final one', async () => {
    const src = source()
    const it = iterateLatest<E>(src.subscribe, (e) => e.run, { softLimit: 5 })
    for (let i = 0; i < 50; i++) src.push({ run: String(i % 3), state: `S${i}` })
    src.push({ run: '0', state: 'SUCCEEDED' })
    const drained: E[] = []
    for (let i = 0; i < 3; i++) drained.push((await it.next()).value as E)
    expect(drained.find((e) => e.run === '0')?.state).toBe('SUCCEEDED')
    expect(new Set(drained.map((e) => e.run))).toEqual(new Set(['0', '1', '2']))
  })

  it('orders coalesced runs by their newest arrival, then goes back to every event once drained', async () => {
    const src = source()
    const it = iterateLatest<E>(src.subscribe, (e) => e.run, { softLimit: 3 })
    // Many runs, far past the soft limit: each keeps only its newest event.
    for (let i = 0; i < 2000; i++) src.push({ run: String(i % 500), state: `S${i}` })
    src.push({ run: '7', state: 'SUCCEEDED' })
    const drained: E[] = []
    for (let i = 0; i < 500; i++) drained.push((await it.next()).value as E)
    expect(drained).toHaveLength(500)
    expect(new Set(drained.map((e) => e.run)).size).toBe(500)
    expect(drained.at(-1)).toEqual({ run: '7', state: 'SUCCEEDED' })
    expect(drained[0]).toEqual({ run: '0', state: 'S1500' })
    // Caught up: the next events come one by one again, repeats of a run included.
    src.push({ run: 'x', state: 'QUEUED' })
    src.push({ run: 'x', state: 'RUNNING' })
    expect([(await it.next()).value?.state, (await it.next()).value?.state]).toEqual(['QUEUED', 'RUNNING'])
  })

  it('ends with an error past the hard limit instead of dropping silently, and unsubscribes', async () => {
    const src = source()
    const it = iterateLatest<E>(src.subscribe, (e) => e.run, { softLimit: 2, hardLimit: 4 })
    for (let i = 0; i < 10; i++) src.push({ run: String(i), state: 'QUEUED' })
    expect(src.unsubscribed()).toBe(true)
    const seen: string[] = []
    await expect(
      (async () => {
        for (;;) {
          const r = await it.next()
          if (r.done) return
          seen.push(r.value.run)
        }
      })(),
    ).rejects.toThrow(/too slow/)
  })
})

describe('renderEach (a subscription rendering its events)', () => {
  it('renders in order whether an event is answered at once or after a wait, skipping what is not for it', async () => {
    const src = source()
    const events = iterateLatest<E>(src.subscribe, (e) => e.run)
    let ended = 0
    const it = renderEach(
      events,
      (e) =>
        e.state === 'HIDDEN'
          ? undefined
          : e.state === 'RUNNING'
            ? new Promise<string>((r) => setTimeout(() => r(`${e.run}:${e.state}`), 10))
            : `${e.run}:${e.state}`,
      () => ended++,
    )
    for (const state of ['QUEUED', 'HIDDEN', 'RUNNING', 'SUCCEEDED']) src.push({ run: '1', state })
    const got = [await it.next(), await it.next(), await it.next()].map((r) => r.value)
    expect(got).toEqual(['1:QUEUED', '1:RUNNING', '1:SUCCEEDED'])
    expect(ended).toBe(0)
  })

  it('return() while waiting for an event ends it at once, unsubscribes and calls onEnd once', async () => {
    const src = source()
    let ended = 0
    const it = renderEach(
      iterateLatest<E>(src.subscribe, (e) => e.run),
      (e) => e.state,
      () => ended++,
    )
    const pending = it.next()
    await it.return!()
    expect(await pending).toEqual({ done: true, value: undefined })
    await it.return!()
    expect(ended).toBe(1)
    expect(src.unsubscribed()).toBe(true)
  })

  it('a failed source (access lost) rejects the reader and calls onEnd; nothing queued is rendered after', async () => {
    const src = source()
    let ended = 0
    const events = iterateLatest<E>(src.subscribe, (e) => e.run)
    const it = renderEach(
      events,
      (e) => e.state,
      () => ended++,
    )
    src.push({ run: '1', state: 'QUEUED' })
    events.fail(new Error('access changed'))
    await expect(it.next()).rejects.toThrow(/access changed/)
    expect(ended).toBe(1)
  })

  it('a render that fails (a read failed) rejects the reader and ends the stream', async () => {
    const src = source()
    let ended = 0
    const it = renderEach(
      iterateLatest<E>(src.subscribe, (e) => e.run),
      () => Promise.reject(new Error('database away')),
      () => ended++,
    )
    src.push({ run: '1', state: 'QUEUED' })
    await expect(it.next()).rejects.toThrow(/database away/)
    expect(ended).toBe(1)
    expect(src.unsubscribed()).toBe(true)
  })
})
