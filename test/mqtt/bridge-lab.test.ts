// The MQTT bridge against a real Mosquitto, all in namespaces made here: h0 runs the broker (its own
// config file), h1 the hub daemon with `mqtt` (and commands), h2 a sensor daemon without it, h3
// mosquitto_sub. Daemons run from the built bundle, so the lazily loaded bridge is what is tested.
// Checks: state topics as JSON, retained flags, status and bridge availability, discovery configs,
// deletes, commands, kill -9 of the sensor (peer-down -> offline), broker restart -> resync, the
// hub's last will. Every wait is on an event (a log or an MQTT line) under a deadline.
import t, { type Test } from 'tap'
import { execFileSync, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { buildBundleCopy, run } from '../bundle/bundle-helpers'
import { LineLog } from '../lab/lines'
import { createLab, labAvailable, type Lab } from '../lab/netns'
import { MeshAgent } from '../mesh/agent'

const KEY = '7a'.repeat(32)
const PORT = 1883
const WAIT_MS = 20_000
type Log = Record<string, unknown>

const msgIs = (msg: string, extra: (l: Log) => boolean = () => true) => (line: string) => {
  try {
    const l = JSON.parse(line) as Log
    return l.msg === msg && extra(l)
  } catch {
    return false
  }
}

/** One MQTT message as mosquitto_sub -F '%r|%t|%p' prints it (retain flag, topic, payload). */
const mqttLine = (retain: 0 | 1 | '*', topic: string | RegExp, payload: string | ((p: string) => boolean)) => (line: string) => {
  const [r, top, ...rest] = line.split('|')
  const p = rest.join('|')
  if (retain !== '*' && r !== String(retain)) return false
  if (typeof topic === 'string' ? top !== topic : !topic.test(top)) return false
  return typeof payload === 'string' ? p === payload : payload(p)
}
const payloadOf = (line: string) => line.split('|').slice(2).join('|')
const topicOf = (line: string) => line.split('|')[1]

class Bench {
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'dsn-mqtt-lab-'))
  broker: ChildProcessWithoutNullStreams | undefined
  port = PORT
  subArgs: string[] = []

  constructor(readonly t: Test, readonly lab: Lab, readonly bundle: string) {
    t.teardown(() => rmSync(this.dir, { recursive: true, force: true }))
    // Mosquitto at its defaults (no persistence: a restart loses retained messages, the hard case).
    writeFileSync(path.join(this.dir, 'mosquitto.conf'), [`listener ${PORT} 0.0.0.0`, 'allow_anonymous true', ''].join('\n'), { mode: 0o644 })
  }

  get brokerAddress(): string {
    return this.lab.hosts[0].address
  }

  async startBroker(conf = 'mosquitto.conf'): Promise<void> {
    const child = this.lab.spawn(0, 'mosquitto', ['-c', path.join(this.dir, conf), '-v'])
    const log = new LineLog(child.stderr, 'mosquitto')
    new LineLog(child.stdout, 'mosquitto stdout')
    await log.waitFor(new RegExp(`Opening ipv4 listen socket on port ${this.port}`), WAIT_MS)
    this.broker = child
  }

  async stopBroker(): Promise<void> {
    const child = this.broker!
    const exit = new Promise((r) => child.once('exit', r))
    child.kill('SIGTERM')
    await exit
  }

  /** mosquitto_sub on h3 for dsn/# and homeassistant/#, resolved once subscribed. */
  async subscribe(host = 3): Promise<{ log: LineLog; child: ChildProcessWithoutNullStreams }> {
    // stdbuf: mosquitto_sub's stdout is block-buffered into a pipe; lines must come as they happen.
    const child = this.lab.spawn(host, 'stdbuf', ['-oL', 'mosquitto_sub', '-h', this.brokerAddress, '-p', String(this.port), '-t', 'dsn/#', '-t', 'homeassistant/#', '-F', '%r|%t|%p', '-d', ...this.subArgs])
    this.t.teardown(() => void child.kill('SIGKILL'))
    const log = new LineLog(child.stdout, 'mosquitto_sub')
    await log.waitFor(/received SUBACK/, WAIT_MS)
    return { log, child }
  }

  async daemon(host: number, nodeId: string, extra: NodeJS.ProcessEnv = {}) {
    const socket = path.join(this.dir, `${nodeId}.sock`)
    const env = {
      PATH: process.env.PATH,
      DSN_NETWORK_KEY: KEY,
      DSN_NODE_ID: nodeId,
      DSN_CLUSTER: 'lab',
      DSN_INTERFACE: this.lab.hosts[host].iface,
      DSN_SOCKET: socket,
      DSN_CREDENTIAL_DIR: path.join(this.dir, nodeId),
      DSN_PEER_TIMEOUT_MS: '2000',
      ...extra,
    }
    const child = this.lab.spawn(host, 'env', ['-u', 'NODE_OPTIONS', process.execPath, this.bundle, 'run'], { env })
    const log = new LineLog(child.stdout, `${nodeId} stdout`)
    const stderr = new LineLog(child.stderr, `${nodeId} stderr`)
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    try {
      await log.waitFor(msgIs('started'), WAIT_MS)
    } catch (err) {
      throw new Error(`${nodeId} did not start: ${(err as Error).message}; stderr: ${stderr.lines.join('\n')}`)
    }
    const dsn = (...args: string[]) => run(process.execPath, [this.bundle, ...args, '--socket', socket], {}, 30_000)
    return { nodeId, child, log, exit, dsn }
  }
}

async function scenario(t: Test, bundle: string): Promise<void> {
  const lab = await createLab({ hosts: 4, prefix: 'dsnmq', subnet: '10.47.10' })
  t.teardown(() => lab.destroy())
  const b = new Bench(t, lab, bundle)
  await b.startBroker()
  const sub = await b.subscribe()

  const sensor = await b.daemon(2, 'sensor')
  const hub = await b.daemon(1, 'hub', { DSN_MQTT_URL: `mqtt://${b.brokerAddress}:${PORT}`, DSN_MQTT_COMMANDS: 'true' })
  t.notOk(sensor.log.has(msgIs('mqtt-starting')), 'a daemon without mqtt starts no bridge')
  await hub.log.waitFor(msgIs('mqtt-connected'), WAIT_MS)
  await sub.log.waitFor(mqttLine('*', 'dsn/lab/$bridge/hub', 'online'), WAIT_MS)
  await hub.log.waitFor(msgIs('peer-up', (l) => l.nodeId === 'sensor'), WAIT_MS)
  await sub.log.waitFor(mqttLine('*', 'dsn/lab/sensor/status', 'online'), WAIT_MS)
  t.pass('bridge and sensor online')
  t.match(JSON.parse((await hub.dsn('status', '--json')).stdout).daemon.mqtt, { connected: true }, 'dsn status shows the bridge')
  t.notOk('mqtt' in JSON.parse((await sensor.dsn('status', '--json')).stdout).daemon, 'no bridge where mqtt is not set')

  // State: values as JSON on <prefix>/<cluster>/<node>/<key>, keys escaped into one level.
  t.equal((await sensor.dsn('set', 'temperature', '21.5')).code, 0)
  t.equal((await sensor.dsn('set', 'door', 'true')).code, 0)
  t.equal((await sensor.dsn('set', 'mode', 'eco')).code, 0)
  t.equal((await sensor.dsn('set', 'a/b+c', '1')).code, 0)
  await sub.log.waitFor(mqttLine('*', 'dsn/lab/sensor/temperature', '21.5'), WAIT_MS)
  await sub.log.waitFor(mqttLine('*', 'dsn/lab/sensor/door', 'true'), WAIT_MS)
  await sub.log.waitFor(mqttLine('*', 'dsn/lab/sensor/mode', '"eco"'), WAIT_MS)
  await sub.log.waitFor(mqttLine('*', 'dsn/lab/sensor/a%2Fb%2Bc', '1'), WAIT_MS)
  t.pass('values published as JSON, keys escaped')

  // Discovery: a sensor for the number and the string, a binary_sensor for the boolean.
  const configOf = async (component: string, stateTopic: string) => {
    const line = await sub.log.waitFor(
      mqttLine('*', new RegExp(`^homeassistant/${component}/[a-zA-Z0-9_-]+/[a-zA-Z0-9_-]+/config$`), (p) => p !== '' && JSON.parse(p).state_topic === stateTopic),
      WAIT_MS,
    )
    return { topic: topicOf(line), config: JSON.parse(payloadOf(line)) as Log }
  }
  const temp = await configOf('sensor', 'dsn/lab/sensor/temperature')
  t.match(temp.config, {
    name: 'temperature',
    unique_id: /^dsn_lab_sensor_/,
    state_class: 'measurement',
    availability: [{ topic: 'dsn/lab/sensor/status' }, { topic: 'dsn/lab/$bridge/hub' }],
    availability_mode: 'all',
    device: { identifiers: [/^dsn_lab_sensor_/], name: 'sensor', via_device: /^dsn_lab_hub_/ },
  })
  t.match((await configOf('binary_sensor', 'dsn/lab/sensor/door')).config, { payload_on: 'true', payload_off: 'false' })
  const mode = await configOf('sensor', 'dsn/lab/sensor/mode')
  t.equal(mode.config.value_template, '{{ value_json[:255] }}')

  // Retained: a subscriber arriving now gets every value with the retain flag set.
  const late = await b.subscribe()
  for (const [topic, payload] of [['dsn/lab/sensor/temperature', '21.5'], ['dsn/lab/sensor/status', 'online'], ['dsn/lab/$bridge/hub', 'online'], [temp.topic, (p: string) => p.includes('"temperature"')]] as const) {
    await late.log.waitFor(mqttLine(1, topic, payload), WAIT_MS)
  }
  late.child.kill('SIGKILL')
  t.pass('values, status and discovery configs are retained')

  // Delete: the retained value and the discovery config are cleared (empty retained payload).
  t.equal((await sensor.dsn('del', 'mode')).code, 0)
  await sub.log.waitFor(mqttLine('*', 'dsn/lab/sensor/mode', ''), WAIT_MS)
  await sub.log.waitFor(mqttLine('*', mode.topic, ''), WAIT_MS)
  t.pass('a delete clears the value and its discovery config')

  // Commands: only to the bridge's own node; a command to another node is never applied.
  const pub = (topic: string, message: string) => lab.exec(3, 'mosquitto_pub', ['-h', b.brokerAddress, '-p', String(PORT), '-q', '1', '-t', topic, '-m', message])
  await pub('dsn/lab/sensor/set/stolen', '1')
  await pub('dsn/lab/hub/set/target', '22.5')
  await sub.log.waitFor(mqttLine('*', 'dsn/lab/hub/target', '22.5'), WAIT_MS)
  t.equal((await hub.dsn('get', 'hub', 'target')).stdout, '22.5\n', 'the command set the hub\'s own key, parsed like dsn set')
  t.equal((await hub.dsn('get', 'sensor', 'stolen')).stdout, '', 'no node writes another\'s state')
  t.equal((await sensor.dsn('get', 'sensor', 'stolen')).stdout, '')

  // kill -9 of the sensor: the hub's peer-down marks it offline.
  sensor.child.kill('SIGKILL')
  await hub.log.waitFor(msgIs('peer-down', (l) => l.nodeId === 'sensor'), WAIT_MS)
  await sub.log.waitFor(mqttLine('*', 'dsn/lab/sensor/status', 'offline'), WAIT_MS)
  t.pass('kill -9 of a sensor node: its status goes offline')

  // A stalled broker (SIGSTOP: the TCP connection stays up, nothing is acknowledged) under a write
  // flood: only the latest value per topic waits, and a bounded number of publishes is in flight.
  const flood = await MeshAgent.start(lab, 2, { nodeId: 'flood', networkKey: KEY, cluster: 'lab', interface: lab.hosts[2].iface })
  await sub.log.waitFor(mqttLine('*', 'dsn/lab/flood/status', 'online'), WAIT_MS)
  b.broker!.kill('SIGSTOP')
  // 8 bursts (each request adds an exit listener to the agent's process: more would warn).
  for (let burst = 0; burst < 8; burst++) await flood.request({ op: 'burst', prefix: 'k', count: 2500, keys: 50 })
  await flood.request({ op: 'set', key: 'last', value: 'done' })
  const statusOf = async () => JSON.parse((await hub.dsn('status', '--json')).stdout) as { daemon: { mqtt?: Record<string, number | boolean> } }
  for (const deadline = Date.now() + WAIT_MS; (await hub.dsn('get', 'flood', 'last')).stdout !== 'done\n'; ) {
    if (Date.now() > deadline) throw new Error('the flood did not reach the hub')
  }
  const stalled = (await statusOf()).daemon.mqtt!
  t.ok((stalled.pending as number) <= 2 * 51 + 4, `pending topics stay bounded by the keys (${stalled.pending} for 51 keys, 20,001 writes)`)
  t.ok((stalled.inFlight as number) <= 32, `publishes in flight stay bounded (${stalled.inFlight})`)
  b.broker!.kill('SIGCONT')
  await sub.log.waitFor(mqttLine('*', 'dsn/lab/flood/k49', '2499'), WAIT_MS)
  await sub.log.waitFor(mqttLine('*', 'dsn/lab/flood/last', '"done"'), WAIT_MS)
  const k49 = sub.log.count(mqttLine('*', 'dsn/lab/flood/k49', () => true))
  t.ok(k49 < 8, `values were coalesced, not queued one by one (${k49} messages for k49 over 8 bursts)`)

  // Broker restart: logged once, retried, and everything published again (no persistence).
  await b.stopBroker()
  await hub.log.waitFor(msgIs('mqtt-disconnected'), WAIT_MS)
  t.equal((await hub.dsn('set', 'during', '1')).code, 0, 'the mesh runs on without the broker')
  await b.startBroker()
  await hub.log.waitFor(msgIs('mqtt-connected', (l) => typeof l.outageMs === 'number' && (l.outageMs as number) > 0), 60_000)
  t.equal(hub.log.count(msgIs('mqtt-disconnected')), 1, 'one log line per outage')
  // The resync may still be on its way when this subscriber arrives (then lines come live, r0):
  // once all are seen, a second subscriber must get them all as retained.
  const expected = [
    ['dsn/lab/hub/during', '1'],
    ['dsn/lab/hub/target', '22.5'],
    ['dsn/lab/$bridge/hub', 'online'],
    [/^homeassistant\/sensor\/.*\/config$/, (p: string) => p.includes('"dsn/lab/hub/during"')],
  ] as const
  const first = await b.subscribe()
  for (const [topic, payload] of expected) await first.log.waitFor(mqttLine('*', topic, payload), WAIT_MS)
  const after = await b.subscribe()
  for (const [topic, payload] of expected) await after.log.waitFor(mqttLine(1, topic, payload), WAIT_MS)
  t.pass('after a broker restart the state and discovery configs are back')

  // The hub's own death: its last will marks the bridge offline.
  hub.child.kill('SIGKILL')
  await after.log.waitFor(mqttLine('*', 'dsn/lab/$bridge/hub', 'offline'), 60_000)
  t.pass('last will: the bridge is offline when its daemon dies')
}

// mqtts:// with a CA file, a user and a password file; a wrong password is an outage, not a crash.
async function tlsScenario(t: Test, bundle: string): Promise<void> {
  const lab = await createLab({ hosts: 2, prefix: 'dsnmt', subnet: '10.47.11' })
  t.teardown(() => lab.destroy())
  const b = new Bench(t, lab, bundle)
  const ip = b.brokerAddress
  const file = (name: string) => path.join(b.dir, name)
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: b.dir, stdio: 'pipe' })
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=dsn test CA')
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', `/CN=${ip}`)
  writeFileSync(file('san.ext'), `subjectAltName=IP:${ip}\n`)
  ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext')
  execFileSync('mosquitto_passwd', ['-b', '-c', file('passwd'), 'dsn', 'right-password'], { stdio: 'pipe' })
  writeFileSync(file('right.password'), 'right-password\n')
  writeFileSync(file('wrong.password'), 'wrong-password\n')
  // `user root`: the files live in a 0700 temp dir that Mosquitto's own user could not read.
  const conf = ['user root', 'listener 8883 0.0.0.0', `cafile ${file('ca.pem')}`, `certfile ${file('server.pem')}`, `keyfile ${file('server.key')}`, 'allow_anonymous false', `password_file ${file('passwd')}`, '']
  writeFileSync(file('tls.conf'), conf.join('\n'), { mode: 0o644 })
  b.port = 8883
  b.subArgs = ['--cafile', file('ca.pem'), '-u', 'dsn', '-P', 'right-password']
  await b.startBroker('tls.conf')
  const sub = await b.subscribe(1)
  const mqttEnv = (passwordFile: string) => ({ DSN_MQTT_URL: `mqtts://${ip}:8883`, DSN_MQTT_CA_FILE: file('ca.pem'), DSN_MQTT_USERNAME: 'dsn', DSN_MQTT_PASSWORD_FILE: passwordFile })

  const wrong = await b.daemon(1, 'wrong', mqttEnv(file('wrong.password')))
  const outage = JSON.parse(await wrong.log.waitFor(msgIs('mqtt-disconnected'), WAIT_MS)) as { error?: { message?: string } }
  t.match(outage.error?.message, /Not authorized|Bad user name or password/, `a refused login is logged: ${outage.error?.message}`)
  t.equal((await wrong.dsn('set', 'still', 'alive')).code, 0, 'the daemon runs on without its broker')
  t.notMatch(wrong.log.lines.join('\n'), /wrong-password/, 'the password is never logged')
  wrong.child.kill('SIGTERM')
  t.equal(await wrong.exit, 0)

  const hub = await b.daemon(1, 'hub', mqttEnv(file('right.password')))
  await hub.log.waitFor(msgIs('mqtt-connected'), WAIT_MS)
  t.equal((await hub.dsn('set', 'secure', '1')).code, 0)
  await sub.log.waitFor(mqttLine('*', 'dsn/lab/hub/secure', '1'), WAIT_MS)
  t.notMatch(hub.log.lines.join('\n'), /right-password/, 'the password is never logged')
  hub.child.kill('SIGTERM')
  t.equal(await hub.exit, 0, 'a clean stop')
  await sub.log.waitFor(mqttLine('*', 'dsn/lab/$bridge/hub', 'offline'), WAIT_MS)
  await sub.log.waitFor(mqttLine('*', 'dsn/lab/hub/status', 'offline'), WAIT_MS)
  t.pass('over TLS with a password; on SIGTERM the bridge says offline for itself and its node')
}

const available = labAvailable()
if (!available.ok) {
  t.fail(`the namespace lab cannot run here: ${available.reason}`)
} else {
  const bundle = buildBundleCopy(t)
  t.test('MQTT bridge against Mosquitto', (t) => scenario(t, bundle))
  t.test('mqtts://, CA file, user and password file', (t) => tlsScenario(t, bundle))
}
