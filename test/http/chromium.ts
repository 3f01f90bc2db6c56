// Headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe:
// commands on fd 3, replies on fd 4, NUL-terminated JSON), so no debugging port is opened.
// Started inside a lab namespace, it reaches the lab and nothing else. Importing this file has
// no side effect (tap loads every file under test/).
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import type { Readable, Writable } from 'node:stream'
import type { Lab } from '../lab/netns'

interface Pending {
  resolve: (result: Record<string, unknown>) => void
  reject: (err: Error) => void
}

export class Chromium {
  private nextId = 1
  private readonly pending = new Map<number, Pending>()
  private buffer = ''
  private readonly stderr: string[] = []
  private session = ''

  private constructor(
    private readonly child: ChildProcess,
    private readonly profile: string,
  ) {
    const input = child.stdio[4] as Readable
    input.setEncoding('utf8')
    input.on('data', (chunk: string) => this.onData(chunk))
    child.stderr?.setEncoding('utf8')
    child.stderr?.on('data', (c: string) => this.stderr.push(c))
    child.once('exit', (code, signal) => {
      for (const p of this.pending.values()) p.reject(new Error(`chromium exited (${code ?? signal}): ${this.stderr.join('').slice(-2000)}`))
      this.pending.clear()
    })
  }

  /** Starts Chromium in the host's namespace with one page of the given size. */
  static async launch(lab: Lab, host: number, width = 1280, height = 900): Promise<Chromium> {
    const profile = mkdtempSync(path.join(os.tmpdir(), 'dsn-chromium-'))
    const args = [
      '--headless=new',
      // As root Chromium refuses to start without this; the namespace is the isolation here.
      '--no-sandbox',
      '--remote-debugging-pipe',
      `--user-data-dir=${profile}`,
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--no-first-run',
      '--no-default-browser-check',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-extensions',
      `--window-size=${width},${height}`,
      'about:blank',
    ]
    const child = lab.spawn(host, 'chromium', args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] })
    const browser = new Chromium(child, profile)
    const { targetInfos } = (await browser.send('Target.getTargets')) as { targetInfos: Array<{ targetId: string; type: string }> }
    const page = targetInfos.find((t) => t.type === 'page')
    const targetId = page ? page.targetId : ((await browser.send('Target.createTarget', { url: 'about:blank' })) as { targetId: string }).targetId
    const { sessionId } = (await browser.send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string }
    browser.session = sessionId
    await browser.page('Page.enable')
    await browser.page('Runtime.enable')
    return browser
  }

  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    const id = this.nextId++
    const message = JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      ;(this.child.stdio[3] as Writable).write(message + '\0')
    })
  }

  /** A command to the page's session. */
  page(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    return this.send(method, params, this.session)
  }

  async navigate(url: string): Promise<void> {
    const r = await this.page('Page.navigate', { url })
    if (r.errorText) throw new Error(`navigate ${url}: ${String(r.errorText)}`)
  }

  /** Evaluates an expression in the page; its value as JSON. */
  async evaluate<T>(expression: string): Promise<T> {
    const r = (await this.page('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true })) as { result: { value: T }; exceptionDetails?: { text: string } }
    if (r.exceptionDetails) throw new Error(`in the page: ${r.exceptionDetails.text} (${expression})`)
    return r.result.value
  }

  /** Polls the page until check(value) holds or the deadline passes; the last value either way. */
  async until<T>(expression: string, check: (value: T) => boolean, timeoutMs: number): Promise<{ ok: boolean; value: T }> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const value = await this.evaluate<T>(expression)
      if (check(value)) return { ok: true, value }
      if (Date.now() > deadline) return { ok: false, value }
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  async screenshot(width: number, height: number, mobile = false): Promise<Buffer> {
    await this.page('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: mobile ? 2 : 1, mobile })
    const { data } = (await this.page('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true })) as { data: string }
    return Buffer.from(data, 'base64')
  }

  async close(): Promise<void> {
    await this.send('Browser.close').catch(() => undefined)
    if (this.child.exitCode === null && this.child.signalCode === null) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.child.kill('SIGKILL')
          resolve()
        }, 5000)
        this.child.once('exit', () => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
    rmSync(this.profile, { recursive: true, force: true })
  }

  private onData(chunk: string): void {
    this.buffer += chunk
    let end
    while ((end = this.buffer.indexOf('\0')) !== -1) {
      const text = this.buffer.slice(0, end)
      this.buffer = this.buffer.slice(end + 1)
      const msg = JSON.parse(text) as { id?: number; result?: Record<string, unknown>; error?: { message: string } }
      if (msg.id === undefined) continue
      const p = this.pending.get(msg.id)
      if (!p) continue
      this.pending.delete(msg.id)
      if (msg.error) p.reject(new Error(`DevTools: ${msg.error.message}`))
      else p.resolve(msg.result ?? {})
    }
  }
}
