import { SimNetwork } from '../../test/sim/network'
import { digestsAgree, runUntil, peek } from '../../test/core/sim-helpers'
const N = 10, KEYS = 50, seed = Number(process.argv[2] ?? 32), who = process.argv[3] ?? 'n5'
const net = new SimNetwork(seed)
const nodes = Array.from({ length: N }, (_, i) => net.add(`n${i}`))
runUntil(net, 20_000, () => digestsAgree(net), 100)
net.runFor(2000)
const [origin] = nodes
const target = nodes.find((n) => n.nodeId === who)!
net.faults = { ...net.faults, loss: 0.3, lossOut: 0.3 }
let t0 = 0
const desc = (b: Uint8Array) => { const f = peek(b) as any; if (!f) return '?'; const t = ['','HB','DATA','NACK','PING','MSG','ACK','PEERS','BYE'][f.type] ?? f.type; return `${t} ${f.origin}${f.seq !== undefined ? ' seq ' + f.seq : ''}${f.ranges ? ' ranges ' + JSON.stringify(f.ranges) + ' tgt ' + f.target : ''}` }
net.onDeliver = (d) => { if (t0 && (d.to === target.address || (d.from === target.address && d.to === origin.address))) console.log(`${(net.now - t0).toFixed(0).padStart(5)} deliver ${d.from === target.address ? 'from' : 'to  '} ${who}: ${desc(d.bytes)} (from ${nodes.find(n=>n.address===d.from)?.nodeId})`) }
const gr = (target.engine as any).gapRepair
const orig = gr.nackDue.bind(gr)
gr.nackDue = (peer: any, replica: any, now: number) => { const before = replica.nackBackoff.retryMs(40); orig(peer, replica, now); if (t0) console.log(`${(now - t0).toFixed(0).padStart(5)} nackDue suspect=${(target.engine as any).membership.isSuspect(peer, now)} retry ${before} -> ${replica.nackBackoff.retryMs(40)} next ${replica.nackAt === null ? null : (replica.nackAt - t0).toFixed(0)} missing ${JSON.stringify(replica.gaps.missing(now + 1e9, 4))}`) }
for (let i = 0; i < KEYS; i++) { origin.engine.set(`k${i}`, seed * 1000 + i); net.runFor(10) }
t0 = net.now - 10
const missing = () => Array.from({ length: KEYS }, (_, k) => k).filter((k) => target.engine.get(origin.nodeId, `k${k}`) !== seed * 1000 + k)
console.log('missing at last write', missing().length, 'origin seq', (origin.engine as any).stream?.seq)
let sentBefore = origin.sent.length
runUntil(net, 30_000, () => { for (const b of origin.sent.slice(sentBefore)) { const d = desc(b); if (d.startsWith('DATA')) console.log(`${(net.now - t0).toFixed(0).padStart(5)} origin sent ${d}`) } sentBefore = origin.sent.length; return missing().length === 0 }, 1)
console.log('exact at', (net.now - t0).toFixed(0))
