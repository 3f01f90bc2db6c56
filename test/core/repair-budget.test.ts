// Token buckets for repair and the receivers' NACK back-off, on a fake clock.
import t from 'tap'
import { NackBackoff, RepairBudget, TokenBucket } from '../../src/core/repair-budget'
import { REPAIR } from '../../src/core/timers'

t.test('a token bucket holds one second, refills continuously and allows a bounded debt', async (t) => {
  const b = new TokenBucket(10, 1000, 0)
  let sent = 0
  while (b.canSpend(0)) {
    b.spend(1, 50, 0)
    sent++
  }
  t.equal(sent, 10, 'one second of datagrams at once')
  t.notOk(b.canSpend(50))
  t.ok(b.canSpend(101), 'one datagram back after 100 ms')
  // A snapshot far bigger than the bucket goes, then nothing until the debt is repaid.
  const c = new TokenBucket(10, 1000, 0)
  c.spend(1, 100_000, 0)
  t.notOk(c.canSpend(1000))
  const ready = c.readyAt(1000)
  t.ok(ready > 1000 && ready <= 1000 + (REPAIR.maxDebtSeconds + 1) * 1000, `debt bounded (ready at ${ready})`)
  t.notOk(c.canSpend(ready - 1))
  t.ok(c.canSpend(ready + 1))
})

t.test('the repair budget caps one requester at its share and the origin at its total', async (t) => {
  const rates = { ...REPAIR, originDatagramsPerSec: 40, originBytesPerSec: 1e9, peerDatagramsPerSec: 10, peerBytesPerSec: 1e9 }
  const budget = new RepairBudget(0, 8, rates)
  const byPeer = new Map<string, number>()
  let refused = { origin: 0, peer: 0 }
  // 'a' asks greedily first, then everyone asks.
  for (const p of ['a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a']) {
    if (budget.check(p, 0) === 'ok') budget.spend(p, 1, 100, 0)
    else refused.peer++
  }
  byPeer.set('a', 10)
  for (let round = 0; round < 100; round++) {
    for (const p of ['a', 'b', 'c', 'd', 'e', 'f']) {
      const verdict = budget.check(p, 0)
      if (verdict === 'ok') {
        budget.spend(p, 1, 100, 0)
        byPeer.set(p, (byPeer.get(p) ?? 0) + 1)
      } else if (verdict === 'origin-budget') refused.origin++
      else refused.peer++
    }
  }
  const total = [...byPeer.values()].reduce((a, b) => a + b, 0)
  t.equal(total, 40, 'the origin sends one second of its budget, no more')
  t.ok([...byPeer.values()].every((n) => n <= 10), `no requester above its share: ${JSON.stringify([...byPeer])}`)
  t.ok(refused.origin > 0 && refused.peer > 0)
  refused = { origin: 0, peer: 0 }
  t.equal(budget.check('a', 1000), 'ok', 'a second later it may repair again')
})

t.test('per-peer buckets are bounded', async (t) => {
  const budget = new RepairBudget(0, 2, { ...REPAIR, peerDatagramsPerSec: 1 })
  budget.spend('a', 1, 1, 0)
  t.equal(budget.check('a', 0), 'peer-budget')
  for (const p of ['b', 'c', 'd', 'e']) budget.check(p, 0)
  t.equal(budget.check('a', 0), 'ok', "a's bucket was forgotten past 2 x maxPeers requesters")
})

t.test('NACK back-off grows by sqrt 2 while unanswered and resets on progress', async (t) => {
  const b = new NackBackoff()
  b.sent(10)
  t.equal(b.retryMs(40), 40)
  b.sent(10)
  t.equal(Math.round(b.retryMs(40)), 57, 'one unanswered NACK')
  b.sent(10)
  t.equal(Math.round(b.retryMs(40)), 80, 'two: twice the base')
  b.sent(10)
  b.sent(10)
  t.equal(Math.round(b.retryMs(40)), 160, 'four: four times')
  for (let i = 0; i < 4; i++) b.sent(10)
  t.equal(Math.round(b.retryMs(40)), 640, 'eight: still under the bound')
  b.sent(10)
  b.sent(10)
  t.equal(b.retryMs(40), REPAIR.nackBackoffMaxMs, 'ten: at the bound')
  for (let i = 0; i < 40; i++) b.sent(10)
  t.equal(b.retryMs(40), REPAIR.nackBackoffMaxMs, 'bounded')
  b.sent(11)
  t.equal(b.retryMs(40), 40, 'progress resets it')
  t.equal(b.misses, 0)
})

t.test('NACK back-off does not grow while the origin is seen resending', async (t) => {
  const b = new NackBackoff()
  b.sent(10)
  b.sent(10)
  b.sent(10)
  t.equal(Math.round(b.retryMs(40)), 80, 'two unanswered NACKs')
  b.noteRepair()
  b.sent(10)
  t.equal(Math.round(b.retryMs(40)), 80, 'a resend for anyone came between: our NACK or its repair was lost, not ignored')
  b.sent(10)
  b.sent(10)
  t.equal(Math.round(b.retryMs(40)), 160, 'the origin silent again: it grows again')
})

t.test('a NACK says whether it repeats the last one with nothing gained', async (t) => {
  const b = new NackBackoff()
  t.equal(b.sent(10), false, 'the first NACK of a gap')
  t.equal(b.sent(10), true, 'nothing arrived since: a repeat')
  b.noteRepair()
  t.equal(b.sent(10), true, 'a resend for someone else is no gain for us: still a repeat')
  t.equal(b.sent(12), false, 'something arrived: a new NACK')
})

