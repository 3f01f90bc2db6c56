// The Python DSN's own test scenarios, in our API, on real sockets in a loopback namespace.
import t from 'tap'
import { spawnInLoopback } from './loopback'

void spawnInLoopback(t, `${__dirname}/fixtures/dsn-scenarios.ts`, 'Python DSN scenarios on 127.0.0.1 in a private namespace')
