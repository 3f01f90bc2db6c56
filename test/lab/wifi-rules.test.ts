// The nft rules of the Wi-Fi profiles (nft.ts, wifi.ts), as text: pure, no namespace needed.
// test/mesh/wifi.test.ts runs the profiles themselves on real sockets.
import t from 'tap'
import { noImpairments, renderRuleset, type Impairments } from './nft'
import { perPortLoss } from './wifi'

function rules(change: Partial<Impairments['wifi']>): { fromHost: string[]; toHost: string[] } {
  const imp = noImpairments()
  Object.assign(imp.wifi, change)
  const text = renderRuleset(imp, 'vh3')
  const chain = (name: string) => {
    const start = text.indexOf(`chain ${name} {`)
    if (start < 0) return []
    const body = text.slice(start, text.indexOf('}', start))
    return body.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('chain') && !l.startsWith('type'))
  }
  return { fromHost: chain('from_host'), toHost: chain('to_host') }
}

t.test('blocked into the host: only its ingress of multicast is dropped', async (t) => {
  const r = rules({ multicastBlockedIn: true })
  t.same(r.toHost, ['ip daddr 224.0.0.0/4 counter drop'])
  t.same(r.fromHost, [])
})

t.test('blocked out of the host', async (t) => {
  const r = rules({ multicastBlockedOut: true })
  t.same(r.fromHost, ['ip daddr 224.0.0.0/4 counter drop'])
  t.same(r.toHost, [])
})

t.test('blocked both ways except mDNS: mDNS accepted before the drop', async (t) => {
  const r = rules({ multicastBlockedIn: true, multicastBlockedOut: true, keepMdns: true })
  for (const chain of [r.fromHost, r.toHost]) {
    t.same(chain, ['ip daddr 224.0.0.251 udp dport 5353 accept', 'ip daddr 224.0.0.0/4 counter drop'])
  }
})

t.test('lossy multicast: separate loss for multicast and unicast, per port, giving the end-to-end figure', async (t) => {
  const multicast = perPortLoss(25), unicast = perPortLoss(1.5)
  t.ok(Math.abs(100 * (1 - (1 - multicast / 100) ** 2) - 25) < 0.05, `${multicast}% per port is 25% over two ports`)
  const r = rules({ multicastLossPercent: multicast, unicastLossPercent: unicast })
  for (const chain of [r.fromHost, r.toHost]) {
    t.same(chain, [
      `ip daddr 224.0.0.0/4 meta l4proto udp numgen random mod 10000 < ${Math.round(multicast * 100)} counter drop`,
      `ip daddr != 224.0.0.0/4 meta l4proto udp numgen random mod 10000 < ${Math.round(unicast * 100)} counter drop`,
    ])
  }
})

t.test('healed: the table is deleted', async (t) => {
  t.equal(renderRuleset(noImpairments(), 'vh3'), 'table netdev dsnlab_vh3\ndelete table netdev dsnlab_vh3\n')
})
