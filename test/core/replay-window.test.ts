// The replay window (src/core/replay-window.ts): its verdicts at the edges, and the same
// verdicts as a plain model with sets of every number accepted, over long random runs that
// jump, replay, run unsigned ahead and restart.
import t from 'tap'
import { ReplayWindow, UNSIGNED_LEAD, type ReplayVerdict } from '../../src/core/replay-window'

const WINDOW = 1024

/** The window's rules over unbounded sets: what the bitmaps must agree with. */
class ModelWindow {
  private incarnation = 0
  private highest = 0
  private seen = new Set<number>()
  private unsignedSeen = new Set<number>()

  check(incarnation: number, packet: number, signed: boolean): ReplayVerdict {
    if (incarnation < this.incarnation) return 'old-incarnation'
    if (incarnation > this.incarnation) return signed ? 'fresh' : 'unsigned-ahead'
    if (packet + WINDOW <= this.highest || this.seen.has(packet) || this.unsignedSeen.has(packet)) return 'replay'
    if (!signed && packet > this.highest + UNSIGNED_LEAD) return 'unsigned-ahead'
    return 'fresh'
  }

  accept(incarnation: number, packet: number, signed: boolean): void {
    if (!signed) {
      this.unsignedSeen.add(packet)
      return
    }
    if (incarnation > this.incarnation) {
      this.incarnation = incarnation
      this.highest = 0
      this.seen = new Set()
      this.unsignedSeen = new Set()
    }
    this.seen.add(packet)
    this.highest = Math.max(this.highest, packet)
  }
}

/** Deterministic, so a failure replays: mulberry32. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32
  }
}

t.test('verdicts at the edges', async (t) => {
  const w = new ReplayWindow()
  t.equal(w.check(1, 1, true), 'fresh')
  w.accept(1, 1, true)
  t.equal(w.check(1, 1, true), 'replay', 'the same packet again')
  t.equal(w.check(0, 5, true), 'old-incarnation')
  t.equal(w.check(1, 1 + UNSIGNED_LEAD, false), 'fresh', 'unsigned, at the lead')
  t.equal(w.check(1, 2 + UNSIGNED_LEAD, false), 'unsigned-ahead', 'unsigned, past the lead')
  w.accept(1, 1 + UNSIGNED_LEAD, false)
  t.equal(w.check(1, 1 + UNSIGNED_LEAD, true), 'replay', 'an unsigned packet taken is not taken again signed')
  w.accept(1, 5000, true)
  t.equal(w.check(1, 5000 - WINDOW, true), 'replay', 'WINDOW behind the highest: too old')
  t.equal(w.check(1, 5001 - WINDOW, true), 'fresh', 'just inside the window')
  t.equal(w.check(1, 5000 - 2048, true), 'replay', 'the number sharing the highest\'s bit is refused as too old')
  t.equal(w.check(1, 5000 + 2048, true), 'fresh', 'nor does a signed number far ahead read the highest\'s bit')
  t.equal(w.check(1, 1 + UNSIGNED_LEAD + 4096, true), 'fresh', 'nor an old unsigned one\'s')
  t.equal(w.check(2, 1, false), 'unsigned-ahead', 'a new incarnation needs a signed packet')
  w.accept(2, 3, true)
  t.equal(w.check(2, 5000, true), 'fresh', 'a restart forgets the old incarnation\'s numbers')
  t.equal(w.check(2, 3, true), 'replay')
  t.equal(w.check(1, 5001 - WINDOW, true), 'old-incarnation')
})

t.test('the same verdicts as sets of every number, over random runs', async (t) => {
  let checks = 0
  for (let seed = 1; seed <= 40; seed++) {
    const random = seeded(seed)
    const w = new ReplayWindow(), model = new ModelWindow()
    let incarnation = 1, next = 1
    const sent: Array<[number, number]> = []
    for (let step = 0; step < 5000; step++) {
      const r = random()
      let packet: [number, number]
      if (r < 0.5) packet = [incarnation, next++] // in order
      else if (r < 0.65) packet = [incarnation, next + Math.floor(random() * (UNSIGNED_LEAD + 40))] // ahead, around the lead
      else if (r < 0.7) packet = [incarnation, (next += Math.floor(random() * 5000))] // a jump, past the whole ring sometimes
      else if (r < 0.8) packet = [incarnation, Math.max(1, next - Math.floor(random() * 3000))] // behind, around the window's end
      else if (r < 0.98) packet = sent.length > 0 ? sent[Math.floor(random() * sent.length)] : [incarnation, next++] // a replay, maybe of an old incarnation
      else packet = [++incarnation, (next = 1)] // a restart
      const signed = random() < 0.6
      const got = w.check(packet[0], packet[1], signed)
      const want = model.check(packet[0], packet[1], signed)
      checks++
      if (got !== want) {
        t.fail(`seed ${seed} step ${step}: ${got} where the model says ${want} (incarnation ${packet[0]}, packet ${packet[1]}, signed ${signed})`)
        return
      }
      if (got === 'fresh') {
        w.accept(packet[0], packet[1], signed)
        model.accept(packet[0], packet[1], signed)
        sent.push(packet)
      }
    }
  }
  t.equal(checks, 200_000, 'every check agreed')
})
