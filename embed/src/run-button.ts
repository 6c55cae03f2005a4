/**
 * `<run-button automation token label parameters confirm endpoint>`: a button
 * that runs one Switchyard automation and shows its run live (queued, waiting
 * for its mutex, running with elapsed time, finished), for any web page.
 *
 * Events (bubbling, composed): `run-start` and `run-finish` with `{ run }`,
 * `run-error` with `{ message, code, run }` when the button cannot do its job.
 */
import { ButtonError, ErrorCode, endpointOf, request } from './graphql'
import { clock, describe, isFinal, isNewer, RUN_FIELDS, type Run } from './run'
import { subscribe } from './socket'
import { css } from './styles'

const START = `mutation($id:ID!,$p:JSON){runAutomation(id:$id,parameters:$p){__typename ...on RunAutomationSuccess{run{${RUN_FIELDS}}} ...on Error{message}}}`
const READ = `query($id:ID!){run(id:$id){${RUN_FIELDS}}}`
const WATCH = `subscription($id:ID!){runUpdated(runId:$id){${RUN_FIELDS}}}`

// Included from the Switchyard server itself, the button needs no endpoint attribute.
const SCRIPT_ORIGIN = new URL(import.meta.url).origin
// Read the run soon after each (re)subscription: events sent before the server
// registered the subscription, or while the socket was down, are not replayed.
const SETTLE_MS = 500
// Then read it now and then, in case an event is lost or the socket dies quietly.
const POLL_MS = 15_000
// Longer texts (a stack trace in a run's error) are cut; the title keeps them whole.
const MAX_TEXT = 300

interface RunResult {
  __typename: string
  run?: Run
  message?: string
}

export interface RunErrorDetail {
  message: string
  code: string
  run: Run | undefined
}

export class RunButton extends HTMLElement {
  static observedAttributes = ['label']
  readonly #button: HTMLButtonElement
  readonly #label: HTMLElement
  readonly #status: HTMLElement
  readonly #elapsed: HTMLElement
  #run: Run | undefined
  #error: ButtonError | undefined
  #busy = false
  #reconnecting = false
  #unwatch: (() => void) | undefined
  #ticker: ReturnType<typeof setInterval> | undefined

  constructor() {
    super()
    const root = this.attachShadow({ mode: 'open' })
    // A real <button> gives focus, Enter/Space and the button role for free; the
    // status is a polite live region, the ticking clock stays out of it.
    root.innerHTML = `<style>${css}</style><button part="button" type="button" aria-describedby="s"><span part="spinner" aria-hidden="true"></span><span part="label"></span></button><span part="status" id="s" role="status" aria-live="polite"></span><span part="elapsed" aria-hidden="true"></span>`
    const part = (name: string) => root.querySelector(`[part=${name}]`) as HTMLElement
    this.#button = part('button') as HTMLButtonElement
    this.#label = part('label')
    this.#status = part('status')
    this.#elapsed = part('elapsed')
    this.#button.addEventListener('click', () => void this.start())
  }

  /** The last run as last seen (live while it runs). */
  get run(): Run | undefined {
    return this.#run
  }

  connectedCallback() {
    this.attributeChangedCallback()
    // Moved in the page while its run goes on: pick the run up again.
    if (this.#busy && this.#run && !this.#unwatch) this.#watch(this.#run.id)
    this.#render()
  }

  disconnectedCallback() {
    this.#unwatch?.()
    this.#unwatch = undefined
    clearInterval(this.#ticker)
  }

  attributeChangedCallback() {
    this.#label.textContent = this.getAttribute('label') || 'Run'
  }

  /** Runs the automation as a click does: asks the confirm question first, if any. */
  async start(): Promise<void> {
    if (this.#busy) return
    const question = this.getAttribute('confirm')
    if (question && !window.confirm(question)) return
    this.#busy = true
    this.#run = this.#error = undefined
    this.#render()
    try {
      const id = this.getAttribute('automation')
      if (!id) throw new ButtonError('The automation attribute is missing.', ErrorCode.SETUP)
      const { runAutomation: r } = await request<{ runAutomation: RunResult }>(this.#endpoint(), START, {
        id,
        p: this.#parameters(),
      })
      if (!r.run)
        throw new ButtonError(r.message ?? `Could not start the run (${r.__typename}).`, r.__typename)
      this.#emit('run-start', { run: r.run })
      this.#update(r.run)
      if (this.#busy) this.#watch(r.run.id)
    } catch (e) {
      this.#fail(e)
    }
  }

  #endpoint() {
    return endpointOf(this.getAttribute('endpoint'), SCRIPT_ORIGIN, this.getAttribute('token'))
  }

  #parameters(): unknown {
    const raw = this.getAttribute('parameters')
    if (!raw) return null
    try {
      return JSON.parse(raw)
    } catch {
      throw new ButtonError('The parameters attribute is not valid JSON.', ErrorCode.SETUP)
    }
  }

  /** Follows the run live, and re-reads it after every (re)connect to show its true state. */
  #watch(id: string) {
    const ep = this.#endpoint()
    let poll: ReturnType<typeof setTimeout> | undefined
    let reads = 0
    // Callbacks of an earlier watch must not touch a newer run.
    const live = () => this.#unwatch === stop
    const read = async () => {
      try {
        const { run } = await request<{ run: Run | null }>(ep, READ, { id })
        if (!live()) return
        if (!run) throw new ButtonError('This button may no longer see its run.')
        this.#update(run)
      } catch (e) {
        // Offline for now: the reconnect or the next read will tell.
        if (live() && !(e instanceof ButtonError && e.code === ErrorCode.NETWORK)) this.#fail(e)
      }
    }
    const readIn = (ms: number) => {
      clearTimeout(poll)
      // A reconnect during a read schedules a sooner one, which the read must not push back.
      const mine = ++reads
      poll = setTimeout(async () => {
        await read()
        if (live() && mine === reads) readIn(POLL_MS)
      }, ms)
    }
    const unsubscribe = subscribe(
      ep,
      WATCH,
      { id },
      {
        next: (data) => live() && this.#update((data as { runUpdated: Run }).runUpdated),
        error: (e) => live() && this.#fail(e),
        connected: () => {
          this.#setReconnecting(false)
          readIn(SETTLE_MS)
        },
        dropped: () => this.#setReconnecting(true),
      },
    )
    const stop = () => {
      unsubscribe()
      clearTimeout(poll)
    }
    this.#unwatch = stop
    // Reads go on even if the socket never connects (a proxy that blocks WebSockets).
    readIn(SETTLE_MS)
  }

  #update(run: Run) {
    if (!isNewer(this.#run, run)) return
    this.#run = run
    if (isFinal(run)) {
      this.#unwatch?.()
      this.#unwatch = undefined
      this.#busy = this.#reconnecting = false
    }
    this.#render()
    if (isFinal(run)) this.#emit('run-finish', { run })
  }

  #fail(e: unknown) {
    this.#unwatch?.()
    this.#unwatch = undefined
    this.#error = e instanceof ButtonError ? e : new ButtonError(e instanceof Error ? e.message : String(e))
    this.#busy = this.#reconnecting = false
    this.#render()
    this.#emit('run-error', { message: this.#error.message, code: this.#error.code, run: this.#run })
  }

  #setReconnecting(on: boolean) {
    if (this.#reconnecting === on) return
    this.#reconnecting = on
    this.#render()
  }

  /** Everything visible derives from #busy, #run, #error and #reconnecting. */
  #render() {
    const run = this.#run
    const error = this.#error
    const state = error ? 'ERROR' : run ? run.state : this.#busy ? 'STARTING' : null
    let text = error ? error.message : run ? describe(run) : this.#busy ? 'Starting…' : ''
    if (this.#reconnecting) text += ' · reconnecting…'
    if (state) this.setAttribute('state', state)
    else this.removeAttribute('state')
    this.#button.disabled = this.#busy
    // Rewriting the same text would make screen readers say it again.
    if (this.#status.title !== text) {
      this.#status.textContent = text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text
      this.#status.title = text
    }
    clearInterval(this.#ticker)
    // Clamped at 0: the page's clock may run behind the server's.
    const since = !error && run?.state === 'RUNNING' && run.startedAt ? Date.parse(run.startedAt) : undefined
    const tick = () => {
      this.#elapsed.textContent = since === undefined ? '' : clock(Date.now() - since)
    }
    tick()
    if (since !== undefined) this.#ticker = setInterval(tick, 1000)
  }

  #emit(type: string, detail: object) {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }))
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'run-button': RunButton
  }
}

// The dashboard and a page may both include the script: define once.
if (!customElements.get('run-button')) customElements.define('run-button', RunButton)
