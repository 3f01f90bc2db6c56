// The fuzzer: feeds the victim engine's receive path a stream of hostile datagrams on the
// simulated LAN (honest peers keep running), then checks that nothing threw, memory stayed
// bounded, nothing the honest nodes own changed, and every refusal was counted by reason.
// Used by scripts/fuzz.ts (npm run fuzz) and test/fuzz/fuzz.test.ts. Not a test itself.
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { open } from '../../src/seal/envelope'
import { deriveNetworkKey } from '../../src/seal/keys'
import { MessageType } from '../../src/wire/constants'
import { decodeFrame } from '../../src/wire/frame'
import { TEST_KEY } from '../sim/network'
import { seededRandom } from '../sim/random'
import { CATEGORIES, Generators, MUST_DROP, type Category } from './generators'
import { Dice } from './values'
import { baseline, buildWorld, compareBaseline, FROM, HONEST, VICTIM, type World } from './world'

export interface FuzzOptions {
  count: number
  seed: number
  /** Heap samples (after a full GC) taken over the run. */
  samples?: number
  progress?: (line: string) => void
}

export interface Invariant {
  name: string
  ok: boolean
  detail: string
}

export interface FuzzReport {
  count: number
  seed: number
  seconds: number
  perSecond: number
  /** Outcome per category: a drop reason, 'own', or 'accepted' (taken as a valid frame). */
  table: Record<string, Record<string, number>>
  /** dropped.* counters of the victim over the run. */
  drops: Record<string, number>
  throws: Array<{ category: string; error: string; hex: string }>
  heapMB: number[]
  victimSent: number
  /** Datagrams taken without any counter, event or reply, by frame type. */
  uncounted: Record<string, number>
  invariants: Invariant[]
  ok: boolean
}

/** A full GC, whether or not node was started with --expose-gc. */
export function collector(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc
  if (existing) return existing
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as () => void
}

/** Datagrams fed between two steps of the simulated clock, and the step. */
const BATCH = 250
const STEP_MS = 2

export function runFuzz(options: FuzzOptions): FuzzReport {
  const say = options.progress ?? (() => undefined)
  const gc = collector()
  const world = buildWorld(options.seed)
  const { net, victim } = world
  const engine = victim.engine
  const dice = new Dice(seededRandom(options.seed))
  const gen = new Generators(world, dice)
  say(`world: victim + ${HONEST.join(', ')}; ${world.corpus.length} captured datagrams; insiders ${world.insiders.map((i) => i.nodeId).join(', ')}`)

  // Introduce the insiders: they are members, their writes are legit.
  for (const bytes of gen.heartbeats()) engine.receive(bytes, FROM, 'multicast', net.now)
  net.drain(victim)
  net.runFor(50)
  const before = baseline(world)
  const countersBefore = engine.counters.toJSON()

  // Which counters one receive() touched: its outcome.
  let outcome: string[] = []
  let effects = 0
  let inStream = false
  let outsideDrops = 0
  const add = engine.counters.add.bind(engine.counters)
  engine.counters.add = (name: string, n?: number) => {
    if (!inStream) {
      if (name.startsWith('dropped.')) outsideDrops++
    } else if (name.startsWith('dropped.') || name === 'own-datagrams') outcome.push(name)
    else if (name !== 'datagrams-received' && name !== 'bytes-received') effects++
    add(name, n)
  }
  const emit = engine.emit.bind(engine)
  engine.emit = (event) => {
    effects++
    emit(event)
  }
  const outbox = () => engine.sender.queued
  const silent: Record<string, number> = {}

  const categories = Object.entries(CATEGORIES) as Array<[Category, number]>
  const table: Record<string, Record<string, number>> = {}
  const throws: FuzzReport['throws'] = []
  const violations: string[] = []
  const heapMB: number[] = []
  const samples = options.samples ?? 10
  const sampleEvery = Math.max(BATCH, Math.floor(options.count / samples))
  let victimSent = 0
  let lastHeartbeatAt = net.now
  const started = process.hrtime.bigint()

  for (let i = 0; i < options.count; i++) {
    let r = dice.next()
    let category = categories[categories.length - 1][0]
    for (const [c, share] of categories) {
      if (r < share) {
        category = c
        break
      }
      r -= share
    }
    const bytes = gen.generate(category)
    outcome = []
    effects = 0
    const queued = outbox()
    inStream = true
    try {
      engine.receive(bytes, gen.source(category), dice.chance(0.8) ? 'multicast' : 'unicast', net.now)
    } catch (err) {
      if (throws.length < 20) throws.push({ category, error: String((err as Error).stack ?? err).split('\n').slice(0, 4).join(' | '), hex: Buffer.from(bytes).toString('hex').slice(0, 400) })
      else throws.length++
    }
    inStream = false
    const drops = outcome.filter((o) => o.startsWith('dropped.'))
    let result = drops.length > 0 ? drops.join('+') : outcome.includes('own-datagrams') ? 'own' : 'accepted'
    if (result === 'accepted' && effects === 0 && outbox() === queued) {
      // Taken without a counter, an event or a reply: refused silently, or only bookkeeping.
      result = 'accepted, uncounted'
      const type = frameType(bytes)
      silent[type] = (silent[type] ?? 0) + 1
    }
    const row = (table[category] ??= {})
    row[result] = (row[result] ?? 0) + 1
    if (drops.length > 1) violations.push(`${category}: one datagram counted twice (${drops.join(', ')})`)

    if ((i + 1) % BATCH === 0) {
      victimSent += engine.take().outgoing.length
      if (net.now - lastHeartbeatAt > 500) {
        for (const hb of gen.heartbeats()) engine.receive(hb, FROM, 'multicast', net.now)
        lastHeartbeatAt = net.now
      }
      net.drain(victim)
      net.runFor(STEP_MS)
      checkEvents(world, violations)
      for (const n of [victim, ...world.honest]) n.sent.length = 0
    }
    if ((i + 1) % sampleEvery === 0) {
      gc()
      heapMB.push(process.memoryUsage().heapUsed / 2 ** 20)
      say(`${i + 1} datagrams, heap ${heapMB[heapMB.length - 1].toFixed(1)} MB, simulated ${(net.now / 1000).toFixed(1)} s`)
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  engine.counters.add = add
  engine.emit = emit

  // Quiet time: the insiders fall silent (and time out), honest nodes carry on.
  net.drain(victim)
  net.runFor(3000)
  checkEvents(world, violations)
  const after = baseline(world)
  const changed = compareBaseline(world, before, after)
  // And the victim still works: a new write from an honest node arrives.
  world.honest[0].engine.set('after-fuzz', options.seed)
  net.runFor(200)
  const alive = victim.engine.get('alice', 'after-fuzz') === options.seed

  const countersAfter = engine.counters.toJSON()
  const drops: Record<string, number> = {}
  for (const [k, v] of Object.entries(countersAfter)) if (k.startsWith('dropped.') && v - (countersBefore[k] ?? 0) > 0) drops[k] = v - (countersBefore[k] ?? 0)
  const droppedTotal = Object.values(drops).reduce((a, b) => a + b, 0)
  const tableDrops = Object.values(table).reduce((sum, row) => sum + Object.entries(row).filter(([k]) => k.startsWith('dropped.')).reduce((a, [k, v]) => a + v * k.split('+').length, 0), 0)
  const accepted = [...MUST_DROP].flatMap((c) => Object.entries(table[c] ?? {}).filter(([k]) => !k.startsWith('dropped.')).map(([k, v]) => `${c}: ${v} ${k}`))
  const growth = heapMB.length >= 3 ? Math.max(...heapMB.slice(1)) - heapMB[0] : 0

  const invariants: Invariant[] = [
    { name: 'nothing throws', ok: throws.length === 0, detail: throws.length === 0 ? `${options.count} datagrams, no exception` : `${throws.length} exceptions, first: ${throws[0].category}: ${throws[0].error}` },
    { name: 'memory bounded', ok: growth < 48, detail: `heapUsed after GC: ${heapMB.map((m) => m.toFixed(1)).join(', ')} MB (growth after the first sample ${growth.toFixed(1)} MB, bound 48 MB)` },
    { name: "honest nodes' state unchanged", ok: changed.length === 0 && violations.length === 0, detail: [...changed, ...violations.slice(0, 5)].join('; ') || "the victim's own state and its replicas of alice and bob are as before; no update, peer-down or message from them" },
    { name: 'victim still works', ok: alive, detail: alive ? "an honest write after the run reached the victim" : 'an honest write after the run did not reach the victim' },
    { name: 'junk never accepted', ok: accepted.length === 0, detail: accepted.length === 0 ? `every ${[...MUST_DROP].join('/')} datagram was refused` : accepted.join('; ') },
    { name: 'every drop counted once, by reason', ok: droppedTotal === tableDrops + outsideDrops, detail: `${droppedTotal} dropped.* counts = ${tableDrops} refusals of fuzz datagrams + ${outsideDrops} of honest traffic` },
  ]
  return {
    count: options.count,
    seed: options.seed,
    seconds,
    perSecond: options.count / seconds,
    table,
    drops,
    throws,
    heapMB,
    victimSent,
    uncounted: silent,
    invariants,
    ok: invariants.every((v) => v.ok),
  }
}

/** Honest nodes' updates, downs and messages at the victim: none may come from junk. */
function checkEvents(world: World, violations: string[]): void {
  const { victim } = world
  for (const e of victim.events) {
    if (e.type === 'update' && (HONEST as readonly string[]).includes(e.event.nodeId)) violations.push(`update of ${e.event.nodeId}.${e.event.key}`)
    if (e.type === 'update' && e.event.nodeId === VICTIM) violations.push(`own update ${e.event.key}`)
    if (e.type === 'peer-down' && (HONEST as readonly string[]).includes(e.event.nodeId)) violations.push(`peer-down ${e.event.nodeId} (${e.event.reason})`)
    if (e.type === 'message' && (HONEST as readonly string[]).includes(e.event.from)) violations.push(`message from ${e.event.from}`)
  }
  victim.events.length = 0
  for (const n of world.honest) n.events.length = 0
}

const SNIFF_KEY = deriveNetworkKey(TEST_KEY, 'default')
const CLUSTER = new TextEncoder().encode('default')
const TYPE_NAMES: Record<number, string> = { 1: 'heartbeat', 2: 'data', 3: 'nack', 4: 'ping', 5: 'goodbye', 6: 'message', 7: 'ack', 8: 'peers' }

/** What a datagram carries, for the report: type, signed or not, and what it asks for. */
function frameType(bytes: Uint8Array): string {
  const opened = open([SNIFF_KEY], CLUSTER, bytes)
  if (!opened.ok) return '?'
  try {
    const f = decodeFrame(opened.value.frame)
    const what = f.type === MessageType.Nack || f.type === MessageType.Ping ? ` to ${f.target === VICTIM ? 'victim' : 'other'}` : f.type === MessageType.Message || f.type === MessageType.Ack ? ` to ${f.to === VICTIM ? 'victim' : 'other'}` : ''
    return `${opened.value.signed ? 'signed' : 'unsigned'} ${TYPE_NAMES[f.type]}${what}`
  } catch {
    return '?'
  }
}

/** The report as text: totals, the outcome table, the drop counters, the verdicts. */
export function formatReport(report: FuzzReport): string {
  const lines: string[] = []
  lines.push(`fuzz: ${report.count} datagrams, seed ${report.seed}, ${report.seconds.toFixed(1)} s, ${Math.round(report.perSecond)} datagrams/s; the victim sent ${report.victimSent} datagrams in response`)
  const outcomes = [...new Set(Object.values(report.table).flatMap((r) => Object.keys(r)))].sort()
  const cats = Object.keys(CATEGORIES).filter((c) => report.table[c])
  const width = Math.max(...outcomes.map((o) => o.length), 10)
  lines.push(`${'outcome'.padEnd(width)} ${cats.map((c) => c.padStart(16)).join('')}`)
  for (const o of outcomes) lines.push(`${o.padEnd(width)} ${cats.map((c) => String(report.table[c][o] ?? '').padStart(16)).join('')}`)
  lines.push(`${'total'.padEnd(width)} ${cats.map((c) => String(Object.values(report.table[c]).reduce((a, b) => a + b, 0)).padStart(16)).join('')}`)
  lines.push('drop counters (victim):')
  for (const [k, v] of Object.entries(report.drops).sort((a, b) => b[1] - a[1])) lines.push(`  ${k.padEnd(32)} ${v}`)
  const uncounted = Object.entries(report.uncounted).sort((a, b) => b[1] - a[1])
  if (uncounted.length > 0) lines.push(`taken without a counter, event or reply (by frame): ${uncounted.map(([k, v]) => `${k} ${v}`).join(', ')}`)
  for (const v of report.invariants) lines.push(`${v.ok ? 'PASS' : 'FAIL'} ${v.name}: ${v.detail}`)
  return lines.join('\n')
}
