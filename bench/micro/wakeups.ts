// Timer wake-ups of an idle node (simulator): how often the engine's one timer comes due, and how
// many of those find nothing to do (a deadline that had moved later: a wasted process wake-up).
// Each wake-up of a real process costs far more than the tick itself. Run: npx tsx bench/micro/wakeups.ts [N=10] [seconds=60]
import { SimNetwork } from '../../test/sim/network'

const N = Number(process.argv[2] ?? 10), SECONDS = Number(process.argv[3] ?? 60)
const net = new SimNetwork(1)
const nodes = Array.from({ length: N }, (_, i) => net.add(`n${i}`))
net.runFor(10_000)
const node = nodes[0]
let ticks = 0, idle = 0
const engine = node.engine
const tick = engine.tick.bind(engine)
engine.tick = (now: number) => {
  ticks++
  const sent = engine.counters.get('datagrams-sent'), events = engine.counters.get('datagrams-received')
  const before = engine.nextDeadline()
  tick(now)
  // Nothing sent and the deadline merely moved: the wake-up found nothing due.
  if (engine.counters.get('datagrams-sent') === sent && engine.counters.get('datagrams-received') === events && engine.nextDeadline() > before) idle++
}
net.runFor(SECONDS * 1000)
console.log(JSON.stringify({ N, seconds: SECONDS, timerWakeupsPerSec: +(ticks / SECONDS).toFixed(2), idleWakeupsPerSec: +(idle / SECONDS).toFixed(2), heartbeatsReceivedPerSec: +(N - 1).toFixed(0) }))
