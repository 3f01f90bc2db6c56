// The HTTP side on a real three-node lab, daemons from the bundle: the dashboard in headless
// Chromium (run in a lab namespace, so it reaches the lab and nothing else) shows every node
// and its values and follows a write without reloading; a real Prometheus server in another
// lab namespace scrapes /metrics with the token and can query our values.
// DSN_UPDATE_SCREENSHOT=1 also writes docs/dashboard.png (after a minute of varied writes).
import t, { type Test } from 'tap'
import { type ChildProcessWithoutNullStreams } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { LineLog } from '../lab/lines'
import { createLab, labAvailable, type Lab } from '../lab/netns'
import { buildBundleCopy, ROOT, run, type Ran } from '../bundle/bundle-helpers'
import { Chromium } from './chromium'

const KEY = '6a'.repeat(32)
const TOKEN = 'lab-token-' + '7f'.repeat(12)
const HTTP_PORT = 9464
const SCREENSHOT = process.env.DSN_UPDATE_SCREENSHOT === '1'

interface Daemon {
  nodeId: string
  socket: string
  child: ChildProcessWithoutNullStreams
  log: LineLog
  exit: Promise<number | null>
}

const isMsg = (msg: string) => (line: string) => {
  try {
    return (JSON.parse(line) as { msg?: string }).msg === msg
  } catch {
    return false
  }
}

async function startDaemon(t: Test, lab: Lab, dir: string, bundle: string, host: number, nodeId: string, extra: NodeJS.ProcessEnv = {}): Promise<Daemon> {
  const socket = path.join(dir, `${nodeId}.sock`)
  const env = {
    PATH: process.env.PATH,
    DSN_NETWORK_KEY: KEY,
    DSN_NODE_ID: nodeId,
    DSN_CLUSTER: 'greenhouse',
    DSN_INTERFACE: lab.hosts[host].iface,
    DSN_SOCKET: socket,
    DSN_CREDENTIAL_DIR: path.join(dir, nodeId),
    ...extra,
  }
  const child = lab.spawn(host, 'env', ['-u', 'NODE_OPTIONS', process.execPath, bundle, 'run'], { env })
  const log = new LineLog(child.stdout, `${nodeId} stdout`)
  const stderr = new LineLog(child.stderr, `${nodeId} stderr`)
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  try {
    await log.waitFor(isMsg('started'), 30_000)
  } catch (err) {
    throw new Error(`${nodeId} did not start: ${(err as Error).message}; stderr: ${stderr.lines.join('\n')}`)
  }
  t.teardown(() => void child.kill('SIGKILL'))
  return { nodeId, socket, child, log, exit }
}

async function dsn(bundle: string, d: Daemon, ...args: string[]): Promise<Ran> {
  const r = await run(process.execPath, [bundle, ...args, '--socket', d.socket], {}, 30_000)
  if (r.code !== 0) throw new Error(`dsn ${args.join(' ')} on ${d.nodeId}: exit ${r.code}: ${r.stderr}`)
  return r
}

/** Polls cmd in the host's namespace until check passes; the last output for the message. */
async function pollIn(lab: Lab, host: number, cmd: string, args: string[], check: (out: string) => boolean, timeoutMs: number): Promise<{ ok: boolean; out: string }> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const r = await lab.exec(host, cmd, args, { timeoutMs: 10_000 })
    if (r.code === 0 && check(r.stdout)) return { ok: true, out: r.stdout }
    if (Date.now() > deadline) return { ok: false, out: `${r.stdout}${r.stderr}` }
    await new Promise((r) => setTimeout(r, 200))
  }
}

const available = labAvailable()
if (!available.ok) {
  t.fail(`the namespace lab cannot run here: ${available.reason}`)
} else {
  t.test('three nodes: dashboard in Chromium, metrics scraped by Prometheus', async (t) => {
    const bundle = buildBundleCopy(t)
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dsn-http-lab-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    const lab = await createLab({ hosts: 3, prefix: 'dsnhttp', subnet: '10.47.12' })
    t.teardown(() => lab.destroy())
    const address = `${lab.hosts[0].address}:${HTTP_PORT}`
    const [n0, n1, n2] = await Promise.all([
      startDaemon(t, lab, dir, bundle, 0, 'gateway', { DSN_HTTP: address, DSN_HTTP_TOKEN: TOKEN }),
      startDaemon(t, lab, dir, bundle, 1, 'bench-east'),
      startDaemon(t, lab, dir, bundle, 2, 'bench-west'),
    ])
    t.match(JSON.parse(await n0.log.waitFor(isMsg('http-listening'))), { url: `http://${address}/`, token: true })
    t.notOk(n0.log.lines.some((l) => l.includes(TOKEN)), 'the token is not logged')
    await dsn(bundle, n0, 'set', 'uplink', 'ok')
    await dsn(bundle, n1, 'set', 'temperature', '21.5')
    await dsn(bundle, n1, 'set', 'heater', 'true')
    await dsn(bundle, n2, 'set', 'humidity', '48')

    let temperature = '22.75'
    await t.test('the dashboard in headless Chromium', async (t) => {
      const browser = await Chromium.launch(lab, 2)
      t.teardown(() => browser.close())
      await browser.navigate(`http://${address}/?token=${TOKEN}`)
      const cell = (node: string, key: string) => `document.querySelector('[data-node="${node}"] [data-key="${key}"] .value')?.textContent ?? null`
      const nodes = await browser.until<string[]>(`[...document.querySelectorAll('[data-node][data-up="true"]')].map((e) => e.dataset.node).sort()`, (v) => v.length === 3, 20_000)
      t.same(nodes.value, ['bench-east', 'bench-west', 'gateway'], 'the page lists the three nodes, up')
      t.ok((await browser.until(cell('bench-east', 'temperature'), (v) => v === '21.5', 10_000)).ok, 'a peer\'s value')
      t.ok((await browser.until(cell('bench-west', 'humidity'), (v) => v === '48', 10_000)).ok)
      t.ok((await browser.until(cell('gateway', 'uplink'), (v) => v === 'ok', 10_000)).ok, 'the serving node\'s own value')
      t.equal(await browser.evaluate('document.querySelector("#live").textContent'), 'live')

      // A write on another node shows up without a reload: a marker set on the window survives.
      await browser.evaluate('window.__notReloaded = true')
      await dsn(bundle, n1, 'set', 'temperature', '22.75')
      const after = await browser.until(cell('bench-east', 'temperature'), (v) => v === '22.75', 10_000)
      t.ok(after.ok, `the write appears live (last seen ${JSON.stringify(after.value)})`)
      t.equal(await browser.evaluate('window.__notReloaded'), true, 'without reloading the page')
      t.ok((await browser.until('document.querySelectorAll(\'[data-node="bench-east"] [data-key="temperature"] svg polyline\').length', (v) => v === 1, 10_000)).ok, 'a chart of the numeric key')

      const link = await browser.evaluate<string>('document.querySelector(\'[data-node="bench-east"] .link\').textContent')
      t.match(link, /^10\.47\.12\.2:\d+ · heard \d+(\.\d)? s ago/, 'the peer\'s link: address and last heard')

      if (SCREENSHOT) {
        for (let i = 0; i < 40; i++) {
          await Promise.all([
            dsn(bundle, n1, 'set', 'temperature', (temperature = (21 + 2 * Math.sin(i / 5) + (i % 3) * 0.1).toFixed(1))),
            dsn(bundle, n2, 'set', 'humidity', String(Math.round(50 + 8 * Math.cos(i / 7)))),
            dsn(bundle, n0, 'set', 'load', (0.4 + 0.3 * Math.abs(Math.sin(i / 3))).toFixed(2)),
          ])
          await new Promise((r) => setTimeout(r, 600))
        }
        await dsn(bundle, n2, 'set', 'window', 'half open')
        await browser.until(cell('bench-west', 'window'), (v) => v === 'half open', 10_000)
        const png = await browser.screenshot(1100, 300)
        writeFileSync(path.join(ROOT, 'docs', 'dashboard.png'), png)
        writeFileSync(path.join(ROOT, 'docs', 'dashboard-phone.png'), await browser.screenshot(390, 844, true))
      }
      const png = await browser.screenshot(800, 600)
      t.same([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a screenshot (PNG)')

      // Peer down: bench-west says goodbye; its card turns to down, live.
      n2.child.kill('SIGTERM')
      t.equal(await n2.exit, 0)
      const down = await browser.until('document.querySelector(\'[data-node="bench-west"]\')?.dataset.up ?? null', (v) => v === 'false', 10_000)
      t.ok(down.ok, 'a peer that leaves is shown down')
      t.match(await browser.evaluate<string>('document.querySelector(\'[data-node="bench-west"] .status\').textContent'), /down \(goodbye\)/)
    })

    await t.test('scraped by a real Prometheus server', async (t) => {
      const promDir = path.join(dir, 'prometheus')
      const tokenFile = path.join(dir, 'scrape.token')
      writeFileSync(tokenFile, TOKEN)
      const config = path.join(dir, 'prometheus.yml')
      writeFileSync(
        config,
        [
          'global: { scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s }',
          'scrape_configs:',
          '  - job_name: dsn',
          `    authorization: { type: Bearer, credentials_file: ${tokenFile} }`,
          `    static_configs: [ { targets: ['${address}'] } ]`,
          '',
        ].join('\n'),
      )
      const prom = lab.spawn(1, 'prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${promDir}`, '--web.listen-address=127.0.0.1:9090', '--log.level=warn'])
      const promLog = new LineLog(prom.stderr, 'prometheus')
      t.teardown(() => void prom.kill('SIGKILL'))
      const api = (q: string) => ['-sf', `http://127.0.0.1:9090/api/v1/${q}`]
      const up = await pollIn(lab, 1, 'curl', api('targets'), (out) => {
        const targets = (JSON.parse(out) as { data: { activeTargets: Array<{ health: string; lastError: string }> } }).data.activeTargets
        return targets.length === 1 && targets[0].health === 'up'
      }, 60_000)
      t.ok(up.ok, `the target is up: ${up.out} ${promLog.lines.slice(-5).join('\n')}`)
      const query = await pollIn(lab, 1, 'curl', api(`query?query=${encodeURIComponent('dsn_value{node="bench-east",key="temperature"}')}`), (out) => {
        const result = (JSON.parse(out) as { data: { result: Array<{ value: [number, string] }> } }).data.result
        return result.length === 1 && Number(result[0].value[1]) === Number(temperature)
      }, 30_000)
      t.ok(query.ok, `a query returns our value: ${query.out}`)
      const peers = await pollIn(lab, 1, 'curl', api(`query?query=${encodeURIComponent('dsn_peers')}`), (out) => (JSON.parse(out) as { data: { result: unknown[] } }).data.result.length === 1, 10_000)
      t.ok(peers.ok, `dsn_peers is there too: ${peers.out}`)
    })

    n0.child.kill('SIGTERM')
    n1.child.kill('SIGTERM')
    t.same(await Promise.all([n0.exit, n1.exit]), [0, 0], 'the daemons stop cleanly with the listener open')
  })
}
