// Mosquitto on one lab host, at its defaults except what 2.0 requires to accept remote
// clients at all (a listener on every address, anonymous access).
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import type { Lab } from '../../test/lab/netns'
import { sleep } from '../lib/agent'

export const MQTT_PORT = 1883

export class Broker {
  private readonly log: string[] = []
  private constructor(readonly host: number, readonly address: string, readonly port: number, readonly child: ChildProcessWithoutNullStreams) {
    const keep = (d: Buffer) => {
      this.log.push(...d.toString('utf8').split('\n').filter(Boolean))
      if (this.log.length > 2000) this.log.splice(0, this.log.length - 2000)
    }
    child.stdout.on('data', keep)
    child.stderr.on('data', keep)
  }

  /** `extra`: further mosquitto.conf lines (only for the tuned variant; the default run has none). */
  static async start(lab: Lab, host: number, confDir: string, port = MQTT_PORT, extra: string[] = []): Promise<Broker> {
    const conf = `${confDir}/mosquitto-${port}.conf`
    writeFileSync(conf, [`listener ${port} 0.0.0.0`, 'allow_anonymous true', ...extra, ''].join('\n'), { mode: 0o644 })
    const child = lab.spawn(host, 'mosquitto', ['-c', conf])
    const broker = new Broker(host, lab.hosts[host].address, port, child)
    for (let i = 0; i < 100; i++) {
      const ss = await lab.exec(host, 'ss', ['-ltnH', `sport = :${port}`])
      if (ss.stdout.includes(`:${port}`)) return broker
      if (child.exitCode !== null) break
      await sleep(50)
    }
    throw new Error(`mosquitto did not start on h${host}:\n${broker.log.join('\n')}`)
  }

  /** Log lines that say messages were dropped (queue limits), which would void a throughput run. */
  drops(): string[] {
    return this.log.filter((l) => /drop/i.test(l))
  }

  /** Resident memory (kB -> MB) and CPU seconds of the broker process, from /proc. */
  usage(): { rssMB: number; cpuS: number } {
    const pid = this.child.pid as number
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN)
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(fields[11]) + Number(fields[12])
    return { rssMB: rssKb / 1024, cpuS: ticks / 100 }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return
    const exit = new Promise((r) => this.child.once('exit', r))
    this.child.kill('SIGTERM')
    await exit
  }
}
