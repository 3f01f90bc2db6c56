// Writes coalesce per turn of the event loop even though a datagram's events are delivered in
// the callback that read it: see fixtures/coalesce.ts.
import t from 'tap'
import { spawnInLoopback } from './loopback'

void spawnInLoopback(t, `${__dirname}/fixtures/coalesce.ts`, "a listener's writes during a burst, on 127.0.0.1 in a private namespace")
